/* tcp-echo: a TCP echo server driven by poll(2), many clients at once, IPv4 and IPv6 (one
 * dual-stack socket). Usage: tcp-echo [PORT] (default 7). Plain POSIX: runs on Linux too.
 * A client that sends "quit\n" as its first line stops the server. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_CLIENTS = 1024, BUF = 16384 };

struct client {
    int fd;
    char buf[BUF];
    size_t len, off; /* pending bytes to echo back */
};

static struct client clients[MAX_CLIENTS];
static struct pollfd pfds[MAX_CLIENTS + 1];

static void drop(int i) {
    close(clients[i].fd);
    clients[i].fd = -1;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7;
    int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0) {
        perror("socket");
        return 1;
    }
    int on = 1, off = 0;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    /* A backlog of 4096 (Linux's default somaxconn; musl's SOMAXCONN still says 128): a burst
     * of connections waits in it. SYNs past a full backlog are dropped, and a client that does
     * not retransmit its SYN (a user-mode network's forward: passt sends one and gives up after
     * 10 s) loses that connection. */
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    printf("tcp-echo: listening on port %d\n", port);
    fflush(stdout);
    for (;;) {
        int n = 0;
        pfds[n++] = (struct pollfd){lfd, POLLIN, 0};
        int map[MAX_CLIENTS + 1];
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (clients[i].fd < 0)
                continue;
            short ev = clients[i].len > clients[i].off ? POLLOUT : POLLIN;
            map[n] = i;
            pfds[n++] = (struct pollfd){clients[i].fd, ev, 0};
        }
        if (poll(pfds, n, -1) < 0) {
            perror("poll");
            return 1;
        }
        if (pfds[0].revents & POLLIN) {
            for (;;) {
                int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                if (c < 0)
                    break;
                int slot = -1;
                for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
                    if (clients[i].fd < 0)
                        slot = i;
                if (slot < 0) {
                    close(c);
                    continue;
                }
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
                clients[slot].fd = c;
                clients[slot].len = clients[slot].off = 0;
            }
        }
        for (int k = 1; k < n; k++) {
            struct client *cl = &clients[map[k]];
            if (!pfds[k].revents || cl->fd < 0)
                continue;
            if (cl->len > cl->off) {
                ssize_t w = send(cl->fd, cl->buf + cl->off, cl->len - cl->off, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN) {
                    drop(map[k]);
                    continue;
                }
                if (w > 0)
                    cl->off += w;
                if (cl->off == cl->len)
                    cl->len = cl->off = 0;
                continue;
            }
            ssize_t r = recv(cl->fd, cl->buf, BUF, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                drop(map[k]);
                continue;
            }
            if (r > 0) {
                if (r == 5 && memcmp(cl->buf, "quit\n", 5) == 0) {
                    printf("tcp-echo: done\n");
                    return 0;
                }
                cl->len = r;
                cl->off = 0;
            }
        }
    }
}
