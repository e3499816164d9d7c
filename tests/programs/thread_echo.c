/* A thread-per-connection TCP echo server (tests/net.rs): the main thread blocks in accept
 * while a worker computes (it must finish without any client: a blocked accept blocks only
 * its thread), then each connection gets a thread of its own that echoes until EOF.
 * Usage: thread_echo PORT CONNECTIONS — exits after serving CONNECTIONS connections. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void *echo(void *arg) {
    int fd = (int)(long)arg;
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, n - off);
            if (w <= 0)
                goto done;
            off += w;
        }
    }
done:
    close(fd);
    return NULL;
}

static void *compute(void *arg) {
    (void)arg;
    unsigned long primes = 0;
    for (unsigned long n = 2; n < 200000; n++) {
        int prime = 1;
        for (unsigned long d = 2; d * d <= n; d++)
            if (n % d == 0) {
                prime = 0;
                break;
            }
        primes += prime;
    }
    printf("thread_echo: computed %lu primes while accept was blocked\n", primes);
    fflush(stdout);
    return NULL;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7;
    long want = argc > 2 ? atol(argv[2]) : 100;
    int lfd = socket(AF_INET6, SOCK_STREAM, 0);
    int off = 0, on = 1;
    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 128) < 0) {
        perror("bind/listen");
        return 1;
    }
    pthread_t worker;
    pthread_create(&worker, NULL, compute, NULL);
    printf("thread_echo: listening on port %d\n", port);
    fflush(stdout);
    pthread_t *threads = calloc(want, sizeof *threads);
    for (long i = 0; i < want; i++) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) {
            perror("accept");
            return 1;
        }
        pthread_create(&threads[i], NULL, echo, (void *)(long)c);
    }
    for (long i = 0; i < want; i++)
        pthread_join(threads[i], NULL);
    pthread_join(worker, NULL);
    printf("thread_echo: served %ld connections\n", want);
    return 0;
}
