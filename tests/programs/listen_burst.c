/* The listen backlog under a burst (tests/usernet.rs): listens on TCP PORT with BACKLOG and
 * accepts nothing until a UDP datagram "go" reaches the same port, so the burst's
 * connections wait in the backlog. Then it counts the connections already queued (accepted
 * without waiting), serves COUNT connections in all (reads one line from each and echoes
 * it), and exits once every client closed its end: the echoes are on their way by then
 * (the VM ends at exit, with whatever its sockets still hold).
 * Usage: listen_burst PORT BACKLOG COUNT. Plain POSIX: runs on Linux too. */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads up to a newline (or EOF) and writes it back; 0 on success. */
static int echo_line(int fd) {
    char buf[256];
    size_t len = 0;
    while (len < sizeof buf) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n <= 0)
            break;
        len += n;
        if (memchr(buf, '\n', len))
            break;
    }
    return len == 0 || write(fd, buf, len) != (ssize_t)len;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: listen_burst PORT BACKLOG COUNT\n");
        return 2;
    }
    int port = atoi(argv[1]), backlog = atoi(argv[2]), count = atoi(argv[3]);
    int off = 0;
    struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    int lfd = socket(AF_INET6, SOCK_STREAM, 0);
    int ufd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (lfd < 0 || ufd < 0) {
        perror("socket");
        return 1;
    }
    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    setsockopt(ufd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, backlog) < 0 ||
        bind(ufd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("bind/listen");
        return 1;
    }
    printf("listen_burst: listening on port %d, backlog %d\n", port, backlog);
    fflush(stdout);

    char go[16];
    ssize_t n;
    do
        n = recv(ufd, go, sizeof go, 0);
    while (n != 2 || memcmp(go, "go", 2) != 0);

    /* What waits in the backlog now is accepted without blocking. */
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    int *fds = calloc(count, sizeof *fds);
    int queued = 0, served = 0, failed = 0;
    while (served < count) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            break;
        queued++;
        failed += echo_line(c);
        fds[served++] = c;
    }
    printf("listen_burst: %d queued\n", queued);
    fflush(stdout);
    fcntl(lfd, F_SETFL, 0);
    while (served < count) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) {
            perror("accept");
            return 1;
        }
        failed += echo_line(c);
        fds[served++] = c;
    }
    for (int i = 0; i < count; i++) {
        char rest[64];
        while (read(fds[i], rest, sizeof rest) > 0)
            failed++; /* nothing more was sent */
        close(fds[i]);
    }
    printf("listen_burst: served %d, %d failed\n", served, failed);
    return failed != 0;
}
