/* https-hello: an HTTPS server (HTTP/1.1 over TLS 1.2 and 1.3, OpenSSL 3) that serves one
 * fixed page, on epoll (level-triggered) and non-blocking sockets, IPv4 and IPv6 on one
 * dual-stack socket. Plain POSIX + OpenSSL: the same source runs on Linux.
 *
 *   https-hello [-p PORT] [-c CERT.pem] [-k KEY.pem] [-q]
 *
 * PORT defaults to 443, the certificate (chain) and key to /etc/https-hello/cert.pem and
 * /etc/https-hello/key.pem: in a Kiln VM they come with `kiln run --files DIR`
 * (DIR/etc/https-hello/...). -q prints no line per connection.
 *
 * TLS: versions 1.2 and 1.3 only; TLS 1.2 offers forward-secret AEAD suites only (ECDHE with
 * AES-GCM or ChaCha20-Poly1305), the server's order first; groups X25519, P-256, P-384; no
 * renegotiation, no compression. Session resumption: TLS 1.3 tickets and TLS 1.2 tickets
 * (keys made per process) plus TLS 1.2 session IDs from the server's cache.
 *
 * HTTP: GET and HEAD of / answer the page; other paths get 404, other methods 405.
 * Keep-alive is HTTP/1.1's default (HTTP/1.0's with "Connection: keep-alive"); "Connection:
 * close" is honoured (the answer, close_notify, then FIN). Pipelined requests are answered
 * in order. Request bodies (Content-Length) are read and discarded; chunked bodies get 400,
 * a request head over 8 KiB gets 431, a malformed request line 400: those three close the
 * connection. Each answer carries `X-Kiln-TLS: VERSION CIPHER resumed=0|1`. Output is
 * bounded: while a client does not read its answers, its requests are not parsed.
 *
 * At start it prints OpenSSL's version and RAND_status() (1: the random generator is
 * seeded, from getrandom), then `https-hello: listening on port N`. SIGPIPE is ignored. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <signal.h>
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
                           "<body><h1>Hello from Kiln over TLS!</h1></body></html>\n";

struct conn {
    int fd;
    SSL *ssl;
    bool handshaken;
    bool closing;          /* answered "Connection: close" or an error: no more requests */
    bool peer_done;        /* the client sent close_notify or FIN */
    bool shut_sent;        /* close_notify and FIN sent after the last answer */
    bool want_write;       /* OpenSSL waits for the socket to take more bytes */
    unsigned events;       /* the epoll interest now registered */
    size_t in_len;         /* bytes of in[] not yet parsed */
    size_t skip;           /* request body bytes still to discard */
    size_t out_off, out_len;
    char in[IN_MAX];
    char out[OUT_MAX];
};

static int epfd;
static bool quiet;

static void conn_free(struct conn *c)
{
    SSL_free(c->ssl);
    close(c->fd); /* also removes it from the epoll set */
    free(c);
}

/* Registers the interest the connection needs now. */
static void conn_interest(struct conn *c)
{
    unsigned want = (c->want_write || c->out_len > c->out_off) ? EPOLLOUT : EPOLLIN;
    if (want == c->events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = want;
}

static const char *http_date(void)
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
    return date;
}

/* Appends one response to the output buffer; false if it does not fit (yet). */
static bool respond(struct conn *c, int status, const char *reason, bool head_only, bool keep)
{
    const char *body = status == 200 ? page : reason;
    size_t body_len = strlen(body);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nServer: kiln-https-hello\r\nDate: %s\r\n"
                     "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n"
                     "X-Kiln-TLS: %s %s resumed=%d\r\n\r\n",
                     status, reason, http_date(),
                     status == 200 ? "text/html; charset=utf-8" : "text/plain", body_len,
                     keep ? "keep-alive" : "close", SSL_get_version(c->ssl),
                     SSL_get_cipher_name(c->ssl), SSL_session_reused(c->ssl));
    if (n < 0 || (size_t)n >= sizeof head)
        return false;
    size_t total = (size_t)n + (head_only ? 0 : body_len);
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + total > OUT_MAX)
        return false;
    memcpy(c->out + c->out_len, head, (size_t)n);
    if (!head_only)
        memcpy(c->out + c->out_len + n, body, body_len);
    c->out_len += total;
    if (!keep)
        c->closing = true;
    return true;
}

/* Case-insensitive: does the header line `line` (of `len` bytes) have name `name`? Then its
 * value, without surrounding blanks, in *value. */
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

/* Answers one request whose head is req[0..head_len). False if the answer does not fit in
 * the output buffer now. */
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
            full = true;
            break;
        }
        used += (size_t)(end - start) + 4;
    }
    c->in_len -= used;
    memmove(c->in, c->in + used, c->in_len);
    return full;
}

/* What an SSL_* call's failure means: true to wait (want_write set when it waits to write),
 * false when the connection is over. */
static bool tls_wait(struct conn *c, int ret)
{
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        c->want_write = false;
        return true;
    case SSL_ERROR_WANT_WRITE:
        c->want_write = true;
        return true;
    case SSL_ERROR_ZERO_RETURN: /* close_notify */
    default:
        return false;
    }
}

/* Writes what is buffered; false if the connection failed. */
static bool flush(struct conn *c)
{
    c->want_write = false;
    while (c->out_off < c->out_len) {
        size_t written = 0;
        int r = SSL_write_ex(c->ssl, c->out + c->out_off, c->out_len - c->out_off, &written);
        if (r <= 0)
            return tls_wait(c, r);
        c->out_off += written;
    }
    c->out_off = c->out_len = 0;
    return true;
}

/* Reads what TLS has for us into in[]; false if the connection failed. */
static bool fill(struct conn *c)
{
    while (!c->peer_done && c->in_len < IN_MAX) {
        size_t got = 0;
        int r = SSL_read_ex(c->ssl, c->in + c->in_len, IN_MAX - c->in_len, &got);
        if (r > 0) {
            if (c->closing)
                continue; /* after the last answer the rest is read and dropped */
            c->in_len += got;
            continue;
        }
        int err = SSL_get_error(c->ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            return tls_wait(c, r);
        /* close_notify, or the peer's FIN without one (SSL_ERROR_SYSCALL/SSL_ERROR_SSL with
         * an unexpected EOF): no more requests either way. */
        c->peer_done = true;
        ERR_clear_error();
        return err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL ||
               err == SSL_ERROR_SSL;
    }
    return true;
}

static void on_ready(struct conn *c, unsigned events)
{
    if (events & (EPOLLERR | EPOLLHUP) && !(events & (EPOLLIN | EPOLLOUT))) {
        conn_free(c);
        return;
    }
    if (!c->handshaken) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            if (!tls_wait(c, r)) {
                if (!quiet) {
                    unsigned long e = ERR_peek_error();
                    fprintf(stderr, "https-hello: handshake failed: %s\n",
                            e ? ERR_reason_error_string(e) : "connection closed");
                }
                ERR_clear_error();
                conn_free(c);
                return;
            }
            conn_interest(c);
            return;
        }
        c->handshaken = true;
        if (!quiet)
            printf("https-hello: %s %s resumed=%d\n", SSL_get_version(c->ssl),
                   SSL_get_cipher_name(c->ssl), SSL_session_reused(c->ssl));
    }
    for (;;) {
        if (!flush(c)) {
            conn_free(c);
            return;
        }
        if (c->out_len > c->out_off)
            break; /* the socket is full: wait until it drains */
        if (!fill(c)) {
            conn_free(c);
            return;
        }
        bool full = serve(c);
        if (!flush(c)) {
            conn_free(c);
            return;
        }
        /* Again while answers were held back by a full buffer now written, or TLS holds
         * decrypted bytes epoll cannot see. */
        bool more = (full && c->out_len == 0) ||
                    (!c->peer_done && c->in_len < IN_MAX && SSL_has_pending(c->ssl));
        if (!more)
            break;
    }
    if (c->out_len > c->out_off || c->want_write) {
        conn_interest(c);
        return;
    }
    if (c->peer_done) {
        SSL_shutdown(c->ssl); /* our close_notify, best effort */
        conn_free(c);
        return;
    }
    if (c->closing && !c->shut_sent) {
        /* Everything answered: close_notify and FIN, then read (and drop) until the client
         * closes, so unread request bytes never turn the close into a reset. */
        SSL_shutdown(c->ssl);
        shutdown(c->fd, SHUT_WR);
        c->shut_sent = true;
    }
    conn_interest(c);
}

static void accept_all(int lfd, SSL_CTX *ctx)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                perror("https-hello: accept4");
            return;
        }
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        struct conn *c = calloc(1, sizeof *c);
        SSL *ssl = c ? SSL_new(ctx) : NULL;
        if (!ssl || !SSL_set_fd(ssl, fd)) {
            SSL_free(ssl);
            free(c);
            close(fd);
            continue;
        }
        SSL_set_accept_state(ssl);
        c->fd = fd;
        c->ssl = ssl;
        c->events = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            perror("https-hello: epoll_ctl");
            conn_free(c);
        }
    }
}

static SSL_CTX *make_context(const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return NULL;
    static const unsigned char session_context[] = "kiln-https-hello";
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") ||
        !SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") ||
        !SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        fprintf(stderr, "https-hello: cannot load the certificate %s\n", cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        fprintf(stderr, "https-hello: cannot load the key %s (or it does not match %s)\n",
                key, cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int usage(void)
{
    fprintf(stderr, "usage: https-hello [-p PORT] [-c CERT.pem] [-k KEY.pem] [-q]\n"
                    "  (PORT 1-65535, default 443; default files /etc/https-hello/cert.pem "
                    "and key.pem)\n");
    return 2;
}

int main(int argc, char **argv)
{
    long port = 443;
    const char *cert = "/etc/https-hello/cert.pem", *key = "/etc/https-hello/key.pem";
    int opt;
    while ((opt = getopt(argc, argv, "p:c:k:q")) != -1) {
        char *end;
        switch (opt) {
        case 'p':
            port = strtol(optarg, &end, 10);
            if (*end || port < 1 || port > 65535)
                return usage();
            break;
        case 'c':
            cert = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        default:
            return usage();
        }
    }
    if (optind != argc)
        return usage();

    /* OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a peer that closed first must
     * give EPIPE, not the default SIGPIPE that ends the process (on Linux as in Kiln). */
    signal(SIGPIPE, SIG_IGN);
    printf("https-hello: %s, RAND_status %d\n", OpenSSL_version(OPENSSL_VERSION),
           RAND_status());
    SSL_CTX *ctx = make_context(cert, key);
    if (!ctx) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("https-hello: socket");
        return 1;
    }
    int on = 1, off = 0;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 1024) < 0) {
        perror("https-hello: bind/listen");
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) {
        perror("https-hello: epoll");
        return 1;
    }
    printf("https-hello: listening on port %ld\n", port);
    fflush(stdout);
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("https-hello: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL)
                accept_all(lfd, ctx);
            else
                on_ready(events[i].data.ptr, events[i].events);
        }
        if (!quiet)
            fflush(stdout);
    }
}
