/* Answers and exits at once, as a one-shot server does: waits for a UDP datagram on port
 * argv[1], accepts one TCP connection on the same port, reads a line, writes argv[2] bytes
 * (a xorshift stream) and a UDP reply, and returns from main without closing anything. What
 * it wrote must still reach the client (Linux delivers it after the process is gone). */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void fail(const char *what) {
    perror(what);
    exit(1);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7;
    long total = argc > 2 ? atol(argv[2]) : 1 << 20;
    struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

    int u = socket(AF_INET6, SOCK_DGRAM, 0);
    int t = socket(AF_INET6, SOCK_STREAM, 0);
    if (u < 0 || t < 0)
        fail("socket");
    if (bind(u, (struct sockaddr *)&any, sizeof any) || bind(t, (struct sockaddr *)&any, sizeof any))
        fail("bind");
    if (listen(t, 4))
        fail("listen");
    printf("send_and_exit: listening on port %d\n", port);
    fflush(stdout);

    char buf[64];
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&peer, &plen) < 0)
        fail("recvfrom");
    int c = accept(t, NULL, NULL);
    if (c < 0)
        fail("accept");
    if (read(c, buf, sizeof buf) <= 0)
        fail("read");

    static uint8_t chunk[16384];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (long sent = 0; sent < total;) {
        size_t n = total - sent < (long)sizeof chunk ? (size_t)(total - sent) : sizeof chunk;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk[i] = (uint8_t)x;
        }
        if (write(c, chunk, n) != (ssize_t)n)
            fail("write");
        sent += n;
    }
    static const char reply[] = "sent, exiting";
    if (sendto(u, reply, sizeof reply - 1, 0, (struct sockaddr *)&peer, plen) < 0)
        fail("sendto");
    printf("send_and_exit: wrote %ld bytes, exiting\n", total);
    return 0;
}
