/* udp-echo: a blocking UDP echo server on IPv4 and IPv6 (one dual-stack socket).
 * Usage: udp-echo [PORT] (default 7). Plain POSIX: builds and runs unchanged on Linux. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7;
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    int off = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("bind");
        return 1;
    }
    printf("udp-echo: listening on port %d\n", port);
    fflush(stdout);
    char buf[65536];
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);
        if (n < 0) {
            perror("recvfrom");
            return 1;
        }
        if (n == 4 && buf[0] == 'q' && buf[1] == 'u' && buf[2] == 'i' && buf[3] == 't')
            break;
        if (sendto(fd, buf, n, 0, (struct sockaddr *)&peer, len) < 0)
            perror("sendto");
    }
    printf("udp-echo: done\n");
    return 0;
}
