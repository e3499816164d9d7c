/* http-hello: an HTTP/1.1 server that serves one fixed page, on epoll (level-triggered),
 * non-blocking sockets, IPv4 and IPv6 on one dual-stack socket. Plain POSIX + epoll: the same
 * source runs on Linux. Usage: http-hello [PORT] (default 80).
 *
 * GET and HEAD of / answer the page; other paths get 404, other methods 405. Keep-alive is
 * HTTP/1.1's default (HTTP/1.0's with "Connection: keep-alive"); "Connection: close" is
 * honoured (the answer, then FIN). Pipelined requests are answered in order. Request bodies
 * (Content-Length) are read and discarded; chunked bodies get 400; a request head over 8 KiB
 * gets 431; a malformed request line gets 400: those three close the connection.
 * Output is bounded: while a client does not read its answers, its requests are not parsed. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { IN_MAX = 8192, OUT_MAX = 65536, MAX_EVENTS = 64 };

static const char page[] = "<!DOCTYPE html>\n"
                           "<html><head><title>Kiln</title></head>\n"
                           "<body><h1>Hello from Kiln!</h1></body></html>\n";

struct conn {
    int fd;
    bool closing;          /* answered "Connection: close" or an error: no more requests */
    bool peer_done;        /* the client sent FIN */
    bool fin_sent;         /* shutdown(SHUT_WR) done after the last answer */
    unsigned events;       /* the epoll interest now registered */
    size_t in_len;         /* bytes of in[] not yet parsed */
    size_t skip;           /* request body bytes still to discard */
    size_t out_off, out_len;
    char in[IN_MAX];
    char out[OUT_MAX];
};

static int epfd;

/* Formats the head of a response (status line and headers, through the blank line). */
static int format_head(char *buf, size_t size, int status, const char *reason, size_t body_len,
                       bool keep)
{
    static char date[64];
    static time_t date_at = -1;
    time_t now = time(NULL);
    if (now != date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        date_at = now;
    }
    return snprintf(buf, size,
                    "HTTP/1.1 %d %s\r\nServer: kiln-http-hello\r\nDate: %s\r\n"
                    "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n",
                    status, reason, date,
                    status == 200 ? "text/html; charset=utf-8" : "text/plain", body_len,
                    keep ? "keep-alive" : "close");
}

/* The whole 200 response (head + page) for keep-alive [1] and close [0], remade when the
 * second (the Date header) changes: the common answer is one memcpy. */
static struct {
    time_t at;
    size_t head_len, len;
    char bytes[512];
} ok_cache[2] = {{.at = -1}, {.at = -1}};

static void conn_free(struct conn *c)
{
    close(c->fd); /* also removes it from the epoll set */
    free(c);
}

/* Registers the interest the connection needs now: output pending -> writable, else readable. */
static void conn_interest(struct conn *c)
{
    unsigned want = c->out_len > c->out_off ? EPOLLOUT : EPOLLIN;
    if (want == c->events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = want;
}

/* Appends one response to the output buffer; false if it does not fit (yet). */
static bool respond(struct conn *c, int status, const char *reason, bool head_only, bool keep)
{
    char buf[512];
    const char *bytes = buf;
    size_t head_len, len;
    if (status == 200) {
        time_t now = time(NULL);
        if (ok_cache[keep].at != now) {
            int n = format_head(ok_cache[keep].bytes, sizeof ok_cache[keep].bytes, 200, "OK",
                                sizeof page - 1, keep);
            memcpy(ok_cache[keep].bytes + n, page, sizeof page - 1);
            ok_cache[keep].head_len = (size_t)n;
            ok_cache[keep].len = (size_t)n + sizeof page - 1;
            ok_cache[keep].at = now;
        }
        bytes = ok_cache[keep].bytes;
        head_len = ok_cache[keep].head_len;
        len = ok_cache[keep].len;
    } else { /* the reason phrase is the body */
        size_t body_len = strlen(reason);
        head_len = (size_t)format_head(buf, sizeof buf - body_len, status, reason, body_len, keep);
        memcpy(buf + head_len, reason, body_len);
        len = head_len + body_len;
    }
    size_t total = head_only ? head_len : len;
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + total > OUT_MAX)
        return false;
    memcpy(c->out + c->out_len, bytes, total);
    c->out_len += total;
    if (!keep)
        c->closing = true;
    return true;
}

/* Case-insensitive: does the header line `line` (of `len` bytes) have name `name`? Then its
 * value, without leading blanks, in *value. */
static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *value_len)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return false;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *value = v;
    *value_len = (size_t)(end - v);
    return true;
}

static bool value_is(const char *v, size_t len, const char *word)
{
    return len == strlen(word) && strncasecmp(v, word, len) == 0;
}

/* Answers one request whose head (request line + headers, up to the blank line) is
 * in[0..head_len). Returns false if the answer does not fit in the output buffer now. */
static bool handle(struct conn *c, const char *req, size_t head_len)
{
    const char *eol = memchr(req, '\r', head_len);
    size_t line_len = eol ? (size_t)(eol - req) : head_len;
    const char *sp1 = memchr(req, ' ', line_len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', line_len - (size_t)(sp1 + 1 - req)) : NULL;
    if (!sp1 || !sp2 || sp2 == sp1 + 1)
        return respond(c, 400, "Bad Request", false, false);
    size_t method_len = (size_t)(sp1 - req), path_len = (size_t)(sp2 - sp1 - 1);
    const char *version = sp2 + 1;
    size_t version_len = line_len - (size_t)(version - req);
    bool http11 = value_is(version, version_len, "HTTP/1.1");
    if (!http11 && !value_is(version, version_len, "HTTP/1.0"))
        return respond(c, 400, "Bad Request", false, false);
    bool keep = http11, chunked = false;
    size_t content_length = 0;
    for (const char *line = eol ? eol + 2 : req + head_len; line < req + head_len;) {
        const char *end = memchr(line, '\r', (size_t)(req + head_len - line));
        size_t len = end ? (size_t)(end - line) : (size_t)(req + head_len - line);
        const char *v;
        size_t vlen;
        if (header_is(line, len, "connection", &v, &vlen)) {
            if (value_is(v, vlen, "close"))
                keep = false;
            else if (value_is(v, vlen, "keep-alive"))
                keep = true;
        } else if (header_is(line, len, "content-length", &v, &vlen)) {
            content_length = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9' || content_length > (1u << 30))
                    return respond(c, 400, "Bad Request", false, false);
                content_length = content_length * 10 + (size_t)(v[i] - '0');
            }
        } else if (header_is(line, len, "transfer-encoding", &v, &vlen)) {
            chunked = true;
        }
        line += len + 2;
    }
    if (chunked)
        return respond(c, 400, "Bad Request", false, false);
    bool get = method_len == 3 && memcmp(req, "GET", 3) == 0;
    bool head = method_len == 4 && memcmp(req, "HEAD", 4) == 0;
    bool ok;
    if (!get && !head)
        ok = respond(c, 405, "Method Not Allowed", false, keep);
    else if (path_len != 1 || sp1[1] != '/')
        ok = respond(c, 404, "Not Found", head, keep);
    else
        ok = respond(c, 200, "OK", head, keep);
    if (ok)
        c->skip = content_length;
    return ok;
}

/* Parses and answers every complete request in the input buffer that fits in the output.
 * Returns true if it stopped because the output buffer was full. */
static bool serve(struct conn *c)
{
    size_t used = 0;
    bool full = false;
    while (!c->closing) {
        if (c->skip > 0) { /* a request body: discard it */
            size_t n = c->in_len - used < c->skip ? c->in_len - used : c->skip;
            used += n;
            c->skip -= n;
            if (c->skip > 0)
                break;
        }
        const char *start = c->in + used;
        size_t avail = c->in_len - used;
        const char *end = memmem(start, avail, "\r\n\r\n", 4);
        if (!end) {
            if (avail == IN_MAX)
                respond(c, 431, "Request Header Fields Too Large", false, false);
            break;
        }
        if (!handle(c, start, (size_t)(end - start))) {
            full = true; /* continue once the client has read some */
            break;
        }
        used += (size_t)(end - start) + 4;
    }
    c->in_len -= used;
    memmove(c->in, c->in + used, c->in_len);
    return full;
}

/* Writes what is buffered; false if the connection failed and was freed. */
static bool flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno == EINTR)
                continue;
            conn_free(c);
            return false;
        }
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len = 0;
    return true;
}

/* After a readiness event: read, answer, write, and decide what to wait for next. */
static void on_ready(struct conn *c, unsigned events)
{
    if (events & (EPOLLERR | EPOLLHUP) && !(events & (EPOLLIN | EPOLLOUT))) {
        conn_free(c);
        return;
    }
    if (!flush(c))
        return;
    if (c->out_len == 0 && !c->peer_done) {
        if (c->closing)
            c->in_len = 0; /* after the last answer the rest is read and dropped */
        if (c->in_len < IN_MAX) {
            ssize_t r = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);
            if (r > 0)
                c->in_len += (size_t)r;
            else if (r == 0)
                c->peer_done = true;
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                conn_free(c);
                return;
            }
        }
    }
    /* Answer, write; again while answers were held back by a full buffer now written. */
    bool full;
    do {
        full = serve(c);
        if (!flush(c))
            return;
    } while (full && c->out_len == 0);
    if (c->out_len > 0) {
        conn_interest(c);
        return;
    }
    if (c->peer_done) {
        conn_free(c);
        return;
    }
    if (c->closing && !c->fin_sent) {
        /* Everything answered: send FIN, then read (and drop) until the client closes, so
         * unread request bytes never turn the close into a reset that loses the answer. */
        shutdown(c->fd, SHUT_WR);
        c->fin_sent = true;
    }
    conn_interest(c);
}

static void accept_all(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                perror("http-hello: accept4");
            return;
        }
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        struct conn *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->closing = c->peer_done = c->fin_sent = false;
        c->in_len = c->skip = c->out_off = c->out_len = 0;
        c->events = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            perror("http-hello: epoll_ctl");
            conn_free(c);
        }
    }
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long port = argc > 1 ? strtol(argv[1], &end, 10) : 80;
    if (argc > 2 || (end && *end) || port < 1 || port > 65535) {
        fprintf(stderr, "usage: http-hello [PORT]   (1-65535, default 80)\n");
        return 2;
    }
    int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("http-hello: socket");
        return 1;
    }
    int on = 1, off = 0;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    /* A backlog of 4096 (Linux's default somaxconn; musl's SOMAXCONN still says 128): a burst
     * of connections waits in it. SYNs past a full backlog are dropped, and a client that does
     * not retransmit its SYN (a user-mode network's forward: passt sends one and gives up after
     * 10 s) loses that connection. */
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
        perror("http-hello: bind/listen");
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) {
        perror("http-hello: epoll");
        return 1;
    }
    printf("http-hello: listening on port %ld\n", port);
    fflush(stdout);
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("http-hello: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL)
                accept_all(lfd);
            else
                on_ready(events[i].data.ptr, events[i].events);
        }
    }
}
