/* TCP options over 127.0.0.1 as Linux has them, printed as facts (differential:
 * tests/diff.rs): getsockopt returns what setsockopt set (in Linux's units, with its range
 * checks), accepted connections inherit a listener's options, and what can be observed on
 * one machine without timing assumptions: TCP_CORK holds a partial segment (not delivered at
 * once, delivered when uncorked, and by itself no sooner than ~200 ms), TCP_DEFER_ACCEPT keeps
 * a connection from accept until data comes, SO_REUSEPORT lets sockets share a port, and
 * TCP_USER_TIMEOUT does not end an idle connection. Ports are ephemeral, never printed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void say(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld\n", what, r);
    errno = 0;
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static long get(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) < 0)
        return -1;
    return v;
}

static int set(int fd, int level, int name, int v) {
    return setsockopt(fd, level, name, &v, sizeof v);
}

static void round_trip(int fd, const char *what, int name, int v) {
    char label[96];
    snprintf(label, sizeof label, "set %s %d", what, v);
    say(label, set(fd, IPPROTO_TCP, name, v));
    snprintf(label, sizeof label, "  reads back");
    say(label, get(fd, IPPROTO_TCP, name));
}

static struct sockaddr_in loopback(unsigned short port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* A listener on an ephemeral port of 127.0.0.1; its address in *a. */
static int listener(struct sockaddr_in *a, int reuseport) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (reuseport)
        set(l, SOL_SOCKET, SO_REUSEPORT, 1);
    *a = loopback(0);
    bind(l, (struct sockaddr *)a, sizeof *a);
    socklen_t n = sizeof *a;
    getsockname(l, (struct sockaddr *)a, &n);
    listen(l, 16);
    return l;
}

static int readable(int fd, int timeout_ms) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms);
}

static void defaults_and_ranges(void) {
    puts("== defaults");
    int s = socket(AF_INET, SOCK_STREAM, 0);
    say("TCP_NODELAY", get(s, IPPROTO_TCP, TCP_NODELAY));
    say("TCP_CORK", get(s, IPPROTO_TCP, TCP_CORK));
    say("TCP_QUICKACK", get(s, IPPROTO_TCP, TCP_QUICKACK));
    say("TCP_KEEPIDLE", get(s, IPPROTO_TCP, TCP_KEEPIDLE));
    say("TCP_KEEPINTVL", get(s, IPPROTO_TCP, TCP_KEEPINTVL));
    say("TCP_KEEPCNT", get(s, IPPROTO_TCP, TCP_KEEPCNT));
    say("TCP_USER_TIMEOUT", get(s, IPPROTO_TCP, TCP_USER_TIMEOUT));
    say("TCP_DEFER_ACCEPT", get(s, IPPROTO_TCP, TCP_DEFER_ACCEPT));
    say("SO_KEEPALIVE", get(s, SOL_SOCKET, SO_KEEPALIVE));
    say("SO_REUSEPORT", get(s, SOL_SOCKET, SO_REUSEPORT));

    puts("== round trips and ranges");
    round_trip(s, "TCP_NODELAY", TCP_NODELAY, 1);
    round_trip(s, "TCP_NODELAY", TCP_NODELAY, 0);
    round_trip(s, "TCP_CORK", TCP_CORK, 1);
    round_trip(s, "TCP_CORK", TCP_CORK, 0);
    round_trip(s, "TCP_QUICKACK", TCP_QUICKACK, 0);
    round_trip(s, "TCP_QUICKACK", TCP_QUICKACK, 1);
    round_trip(s, "TCP_KEEPIDLE", TCP_KEEPIDLE, 30);
    round_trip(s, "TCP_KEEPIDLE", TCP_KEEPIDLE, 32767);
    round_trip(s, "TCP_KEEPIDLE", TCP_KEEPIDLE, 32768);
    round_trip(s, "TCP_KEEPIDLE", TCP_KEEPIDLE, 0);
    round_trip(s, "TCP_KEEPIDLE", TCP_KEEPIDLE, -1);
    round_trip(s, "TCP_KEEPINTVL", TCP_KEEPINTVL, 5);
    round_trip(s, "TCP_KEEPINTVL", TCP_KEEPINTVL, 0);
    round_trip(s, "TCP_KEEPCNT", TCP_KEEPCNT, 3);
    round_trip(s, "TCP_KEEPCNT", TCP_KEEPCNT, 127);
    round_trip(s, "TCP_KEEPCNT", TCP_KEEPCNT, 128);
    round_trip(s, "TCP_KEEPCNT", TCP_KEEPCNT, 0);
    round_trip(s, "TCP_USER_TIMEOUT", TCP_USER_TIMEOUT, 5000);
    round_trip(s, "TCP_USER_TIMEOUT", TCP_USER_TIMEOUT, -1);
    round_trip(s, "TCP_USER_TIMEOUT", TCP_USER_TIMEOUT, 0);
    /* Seconds become SYN-ACK retransmissions: read back rounded up to whole ones. */
    round_trip(s, "TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT, 1);
    round_trip(s, "TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT, 2);
    round_trip(s, "TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT, 5);
    round_trip(s, "TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT, 30);
    round_trip(s, "TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT, -3);
    round_trip(s, "TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT, 0);
    say("set SO_KEEPALIVE", set(s, SOL_SOCKET, SO_KEEPALIVE, 1));
    say("  reads back", get(s, SOL_SOCKET, SO_KEEPALIVE));
    say("set SO_REUSEPORT", set(s, SOL_SOCKET, SO_REUSEPORT, 1));
    say("  reads back", get(s, SOL_SOCKET, SO_REUSEPORT));
    int v = 1;
    say("TCP_CORK with a 2-byte option", setsockopt(s, IPPROTO_TCP, TCP_CORK, &v, 2));
    close(s);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    say("TCP_NODELAY on a UDP socket", set(u, IPPROTO_TCP, TCP_NODELAY, 1));
    say("SO_REUSEPORT on a UDP socket", set(u, SOL_SOCKET, SO_REUSEPORT, 1));
    close(u);
}

static void inheritance(void) {
    puts("== an accepted connection inherits the listener's options");
    struct sockaddr_in a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    set(l, IPPROTO_TCP, TCP_NODELAY, 1);
    set(l, SOL_SOCKET, SO_KEEPALIVE, 1);
    set(l, IPPROTO_TCP, TCP_KEEPIDLE, 100);
    set(l, IPPROTO_TCP, TCP_KEEPINTVL, 10);
    set(l, IPPROTO_TCP, TCP_KEEPCNT, 4);
    set(l, IPPROTO_TCP, TCP_USER_TIMEOUT, 7000);
    set(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1);
    a = loopback(0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    socklen_t n = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &n);
    listen(l, 4);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    send(c, "x", 1, 0); /* past TCP_DEFER_ACCEPT */
    int s = accept(l, NULL, NULL);
    say("accepted", s >= 0);
    say("TCP_NODELAY", get(s, IPPROTO_TCP, TCP_NODELAY));
    say("SO_KEEPALIVE", get(s, SOL_SOCKET, SO_KEEPALIVE));
    say("TCP_KEEPIDLE", get(s, IPPROTO_TCP, TCP_KEEPIDLE));
    say("TCP_KEEPINTVL", get(s, IPPROTO_TCP, TCP_KEEPINTVL));
    say("TCP_KEEPCNT", get(s, IPPROTO_TCP, TCP_KEEPCNT));
    say("TCP_USER_TIMEOUT", get(s, IPPROTO_TCP, TCP_USER_TIMEOUT));
    say("TCP_DEFER_ACCEPT (the listener's own)", get(s, IPPROTO_TCP, TCP_DEFER_ACCEPT));
    say("TCP_QUICKACK", get(s, IPPROTO_TCP, TCP_QUICKACK));
    say("the client's TCP_NODELAY (its own)", get(c, IPPROTO_TCP, TCP_NODELAY));
    close(s);
    close(c);
    close(l);
}

static void cork(void) {
    puts("== TCP_CORK");
    struct sockaddr_in a;
    int l = listener(&a, 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    set(c, IPPROTO_TCP, TCP_NODELAY, 1);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int s = accept(l, NULL, NULL);
    char buf[64];
    send(c, "plain", 5, 0);
    say("without cork: readable at once", readable(s, 0));
    recv(s, buf, sizeof buf, 0);
    say("set TCP_CORK (it overrides TCP_NODELAY)", set(c, IPPROTO_TCP, TCP_CORK, 1));
    send(c, "corked", 6, 0);
    say("corked: readable at once", readable(s, 0));
    say("uncork", set(c, IPPROTO_TCP, TCP_CORK, 0));
    say("readable after uncorking (1 s at most)", readable(s, 1000));
    say("got it", recv(s, buf, sizeof buf, 0));
    set(c, IPPROTO_TCP, TCP_CORK, 1);
    long t0 = now_ms();
    send(c, "held", 4, 0);
    say("corked again: readable at once", readable(s, 0));
    int r = readable(s, 2000);
    long waited = now_ms() - t0;
    say("left corked: delivered within 2 s", r);
    printf("  and not before ~200 ms (150 ms at least): %d\n", waited >= 150);
    say("got it", recv(s, buf, sizeof buf, 0));
    close(s);
    close(c);
    close(l);
}

static void defer_accept(void) {
    puts("== TCP_DEFER_ACCEPT");
    struct sockaddr_in a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    say("set on the listener (5 s)", set(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5));
    a = loopback(0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    socklen_t n = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &n);
    listen(l, 4);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    say("connect", connect(c, (struct sockaddr *)&a, sizeof a));
    say("no data yet: the listener is not readable (300 ms)", readable(l, 300));
    say("the client sends", send(c, "GET", 3, 0));
    say("now it is", readable(l, 2000));
    int s = accept(l, NULL, NULL);
    char buf[8] = {0};
    say("accepted with the data", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    close(s);
    close(c);
    close(l);
}

static void reuseport(void) {
    puts("== SO_REUSEPORT");
    struct sockaddr_in a;
    int l1 = listener(&a, 1);
    int l2 = socket(AF_INET, SOCK_STREAM, 0);
    say("a second bind without SO_REUSEPORT", bind(l2, (struct sockaddr *)&a, sizeof a));
    close(l2);
    l2 = socket(AF_INET, SOCK_STREAM, 0);
    set(l2, SOL_SOCKET, SO_REUSEPORT, 1);
    say("a second bind with SO_REUSEPORT", bind(l2, (struct sockaddr *)&a, sizeof a));
    say("listen", listen(l2, 16));
    int c = socket(AF_INET, SOCK_STREAM, 0);
    say("connect", connect(c, (struct sockaddr *)&a, sizeof a));
    struct pollfd p[2] = {{l1, POLLIN, 0}, {l2, POLLIN, 0}};
    say("one of them has the connection", poll(p, 2, 2000));
    close(c);
    close(l1);
    close(l2);
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    set(u1, SOL_SOCKET, SO_REUSEPORT, 1);
    set(u2, SOL_SOCKET, SO_REUSEPORT, 1);
    struct sockaddr_in ua = loopback(0);
    bind(u1, (struct sockaddr *)&ua, sizeof ua);
    socklen_t n = sizeof ua;
    getsockname(u1, (struct sockaddr *)&ua, &n);
    say("UDP: a second bind with SO_REUSEPORT", bind(u2, (struct sockaddr *)&ua, sizeof ua));
    int u3 = socket(AF_INET, SOCK_DGRAM, 0);
    sendto(u3, "d", 1, 0, (struct sockaddr *)&ua, sizeof ua);
    struct pollfd q[2] = {{u1, POLLIN, 0}, {u2, POLLIN, 0}};
    say("one of them has the datagram", poll(q, 2, 2000));
    close(u1);
    close(u2);
    close(u3);
}

static void user_timeout(void) {
    puts("== TCP_USER_TIMEOUT and keep-alive on a healthy connection");
    struct sockaddr_in a;
    int l = listener(&a, 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    set(c, IPPROTO_TCP, TCP_USER_TIMEOUT, 500);
    set(c, SOL_SOCKET, SO_KEEPALIVE, 1);
    set(c, IPPROTO_TCP, TCP_KEEPIDLE, 1);
    set(c, IPPROTO_TCP, TCP_KEEPINTVL, 1);
    set(c, IPPROTO_TCP, TCP_KEEPCNT, 1);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int s = accept(l, NULL, NULL);
    struct timespec idle = {2, 0};
    nanosleep(&idle, NULL);
    say("after 2 s idle: SO_ERROR", get(c, SOL_SOCKET, SO_ERROR));
    say("send", send(c, "alive", 5, 0));
    char buf[8];
    say("recv", recv(s, buf, sizeof buf, 0));
    close(s);
    close(c);
    close(l);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    defaults_and_ranges();
    inheritance();
    cork();
    defer_accept();
    reuseport();
    user_timeout();
    return 0;
}
