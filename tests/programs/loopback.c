/*
 * loopback.c: a program that serves and connects to itself over 127.0.0.1 and ::1, run on
 * Linux and as a Kiln image (with and without a network device) with equal output
 * (tests/diff.rs, tests/net.rs). Per family: TCP with blocking calls (the addresses each side
 * sees, a message each way, 1 MiB echoed by a thread), TCP non-blocking with epoll (connect
 * in progress, 256 KiB one way, end of stream, a reply), UDP with blocking calls (the
 * sender's address, connected UDP), UDP non-blocking with epoll (50 datagrams each way);
 * then an IPv4 client of a dual-stack `::` listener. Ports are ephemeral and never printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static int failures;

#define CHECK(what, cond)                                                                    \
	do {                                                                                     \
		if (cond) {                                                                          \
			printf("  %s: ok\n", what);                                                      \
		} else {                                                                             \
			printf("  %s: FAIL (%s, line %d)\n", what, strerror(errno), __LINE__);           \
			failures++;                                                                      \
		}                                                                                    \
	} while (0)

struct family {
	const char *name;
	int af;
	const char *loopback; /* the address clients connect to */
	const char *any;      /* the wildcard */
};

static const struct family families[] = {
	{"IPv4", AF_INET, "127.0.0.1", "0.0.0.0"},
	{"IPv6", AF_INET6, "::1", "::"},
};

static socklen_t make_addr(const struct family *f, const char *text, uint16_t port,
                           struct sockaddr_storage *out)
{
	memset(out, 0, sizeof *out);
	if (f->af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)out;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, text, &a->sin_addr);
		return sizeof *a;
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	inet_pton(AF_INET6, text, &a->sin6_addr);
	return sizeof *a;
}

/* "ADDR" of a sockaddr (the port goes to *port). */
static const char *show(const struct sockaddr_storage *s, uint16_t *port)
{
	static char text[2][INET6_ADDRSTRLEN];
	static int which;
	char *out = text[which++ % 2];
	if (s->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)s;
		inet_ntop(AF_INET, &a->sin_addr, out, INET6_ADDRSTRLEN);
		*port = ntohs(a->sin_port);
	} else if (s->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)s;
		inet_ntop(AF_INET6, &a->sin6_addr, out, INET6_ADDRSTRLEN);
		*port = ntohs(a->sin6_port);
	} else {
		snprintf(out, INET6_ADDRSTRLEN, "family %d", s->ss_family);
		*port = 0;
	}
	return out;
}

static uint16_t local_port(int fd, const char **addr)
{
	struct sockaddr_storage s;
	socklen_t len = sizeof s;
	uint16_t port = 0;
	if (getsockname(fd, (struct sockaddr *)&s, &len) < 0)
		return 0;
	const char *text = show(&s, &port);
	if (addr)
		*addr = text;
	return port;
}

/* A listening (TCP) or bound (UDP) socket on `host`, port 0. */
static int server(const struct family *f, int type, const char *host)
{
	struct sockaddr_storage a;
	socklen_t len = make_addr(f, host, 0, &a);
	int fd = socket(f->af, type, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0)
		return -1;
	if ((type & 0xf) == SOCK_STREAM && listen(fd, 16) < 0)
		return -1;
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint32_t checksum(const unsigned char *p, size_t len, uint32_t h)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* ---- TCP, blocking ---- */

static void *echo_thread(void *arg)
{
	int fd = *(int *)arg;
	char buf[8192];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
		if (write_all(fd, buf, (size_t)n) < 0)
			break;
	close(fd);
	return NULL;
}

static void tcp_blocking(const struct family *f)
{
	printf("%s TCP, blocking\n", f->name);
	int l = server(f, SOCK_STREAM, f->loopback);
	const char *bound = "?";
	uint16_t port = local_port(l, &bound);
	printf("  listener bound to %s\n", bound);
	struct sockaddr_storage to;
	socklen_t tolen = make_addr(f, f->loopback, port, &to);
	int c = socket(f->af, SOCK_STREAM, 0);
	CHECK("connect", connect(c, (struct sockaddr *)&to, tolen) == 0);
	struct sockaddr_storage peer;
	socklen_t peerlen = sizeof peer;
	int a = accept(l, (struct sockaddr *)&peer, &peerlen);
	CHECK("accept", a >= 0);
	uint16_t peer_port = 0;
	const char *client_addr = "?";
	uint16_t client_port = local_port(c, &client_addr);
	printf("  accept sees the client at %s\n", show(&peer, &peer_port));
	printf("  the client is bound to %s\n", client_addr);
	CHECK("the peer's port is the client's", peer_port == client_port && peer_port != 0);
	const char *accepted_addr = "?";
	CHECK("the accepted socket has the listener's port", local_port(a, &accepted_addr) == port);
	printf("  the accepted socket is bound to %s\n", accepted_addr);
	peerlen = sizeof peer;
	CHECK("getpeername", getpeername(c, (struct sockaddr *)&peer, &peerlen) == 0);
	printf("  the client's peer is %s\n", show(&peer, &peer_port));
	CHECK("the client's peer port is the listener's", peer_port == port);

	char buf[64] = {0};
	CHECK("client sends", send(c, "hello", 5, 0) == 5);
	CHECK("server receives it", recv(a, buf, sizeof buf, 0) == 5 && memcmp(buf, "hello", 5) == 0);
	CHECK("server answers", send(a, "world!", 6, 0) == 6);
	CHECK("client receives it", recv(c, buf, sizeof buf, 0) == 6 && memcmp(buf, "world!", 6) == 0);

	/* 1 MiB echoed by a thread: more than any buffer on either side. */
	pthread_t t;
	pthread_create(&t, NULL, echo_thread, &a);
	enum { TOTAL = 1 << 20, CHUNK = 16384 };
	static unsigned char out[CHUNK], in[CHUNK];
	uint32_t sent_sum = 2166136261u, got_sum = 2166136261u;
	size_t sent = 0, got = 0;
	while (got < TOTAL) {
		if (sent < TOTAL) {
			for (int i = 0; i < CHUNK; i++)
				out[i] = (unsigned char)((sent + (size_t)i) * 7 + 3);
			if (write_all(c, out, CHUNK) < 0)
				break;
			sent_sum = checksum(out, CHUNK, sent_sum);
			sent += CHUNK;
		}
		/* Read back what is there, at least one chunk's worth in total per round. */
		size_t want = sent - got < CHUNK ? sent - got : CHUNK;
		size_t have = 0;
		while (have < want) {
			ssize_t n = recv(c, in + have, want - have, 0);
			if (n <= 0)
				break;
			have += (size_t)n;
		}
		if (have < want)
			break;
		got_sum = checksum(in, have, got_sum);
		got += have;
	}
	shutdown(c, SHUT_WR);
	pthread_join(t, NULL);
	printf("  echoed %zu of %d bytes, equal checksums: %s\n", got, TOTAL,
	       got == TOTAL && got_sum == sent_sum ? "yes" : "no");
	CHECK("end of stream after the server closed", recv(c, buf, sizeof buf, 0) == 0);
	close(c);
	close(l);
}

/* ---- TCP, non-blocking with epoll ---- */

static void tcp_epoll(const struct family *f)
{
	printf("%s TCP, non-blocking with epoll, listener on %s\n", f->name, f->any);
	int l = server(f, SOCK_STREAM | SOCK_NONBLOCK, f->any);
	uint16_t port = local_port(l, NULL);
	struct sockaddr_storage to;
	socklen_t tolen = make_addr(f, f->loopback, port, &to);
	int c = socket(f->af, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int rc = connect(c, (struct sockaddr *)&to, tolen);
	CHECK("connect starts (EINPROGRESS) or is done", rc == 0 || errno == EINPROGRESS);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	ev = (struct epoll_event){.events = EPOLLOUT, .data.fd = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);

	enum { TOTAL = 256 * 1024 };
	static unsigned char data[TOTAL];
	for (int i = 0; i < TOTAL; i++)
		data[i] = (unsigned char)(i * 13 + 1);
	int a = -1, connected = 0, so_error = -1, eagain_sends = 0;
	size_t sent = 0, received = 0;
	uint32_t sum = 2166136261u;
	char reply[64] = {0};
	size_t reply_len = 0;
	int done = 0, rounds = 0;
	while (!done && rounds++ < 100000) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, 5000);
		if (n <= 0) {
			printf("  epoll_wait: FAIL (%d)\n", n);
			failures++;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == l) {
				a = accept4(l, NULL, NULL, SOCK_NONBLOCK);
				if (a >= 0) {
					ev = (struct epoll_event){.events = EPOLLIN | EPOLLRDHUP, .data.fd = a};
					epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev);
					epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL);
				}
			} else if (fd == c && !connected && (evs[i].events & EPOLLOUT)) {
				socklen_t len = sizeof so_error;
				getsockopt(c, SOL_SOCKET, SO_ERROR, &so_error, &len);
				connected = 1;
			}
			if (fd == c && connected && sent < TOTAL && (evs[i].events & EPOLLOUT)) {
				for (;;) {
					ssize_t k = send(c, data + sent, TOTAL - sent, MSG_NOSIGNAL);
					if (k < 0) {
						eagain_sends += errno == EAGAIN;
						break;
					}
					sent += (size_t)k;
					if (sent == TOTAL) {
						shutdown(c, SHUT_WR);
						ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
						epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev);
						break;
					}
				}
			} else if (fd == c && sent == TOTAL && (evs[i].events & EPOLLIN)) {
				ssize_t k = recv(c, reply + reply_len, sizeof reply - 1 - reply_len, 0);
				if (k > 0)
					reply_len += (size_t)k;
				else if (k == 0)
					done = 1;
			} else if (fd == a) {
				static unsigned char buf[16384];
				for (;;) {
					ssize_t k = recv(a, buf, sizeof buf, 0);
					if (k > 0) {
						sum = checksum(buf, (size_t)k, sum);
						received += (size_t)k;
						continue;
					}
					if (k == 0) {
						char text[64];
						int len = snprintf(text, sizeof text, "got %zu", received);
						write_all(a, text, (size_t)len);
						epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL);
						close(a);
						a = -1;
					}
					break;
				}
			}
		}
	}
	CHECK("SO_ERROR is 0 once writable", so_error == 0);
	printf("  the server got %zu of %d bytes, checksum %s; the client's reply: \"%s\"\n",
	       received, TOTAL, sum == checksum(data, TOTAL, 2166136261u) ? "equal" : "differs",
	       reply);
	CHECK("the client's end of stream", done);
	close(ep);
	close(c);
	close(l);
}

/* ---- UDP, blocking ---- */

static void udp_blocking(const struct family *f)
{
	printf("%s UDP, blocking\n", f->name);
	int s = server(f, SOCK_DGRAM, f->loopback);
	uint16_t port = local_port(s, NULL);
	struct sockaddr_storage to, from;
	socklen_t tolen = make_addr(f, f->loopback, port, &to), fromlen = sizeof from;
	int c = socket(f->af, SOCK_DGRAM, 0);
	CHECK("sendto", sendto(c, "ping", 4, 0, (struct sockaddr *)&to, tolen) == 4);
	char buf[64];
	CHECK("recvfrom", recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen) == 4);
	uint16_t from_port = 0;
	printf("  the datagram came from %s\n", show(&from, &from_port));
	CHECK("from the client's port", from_port == local_port(c, NULL) && from_port != 0);
	CHECK("reply", sendto(s, "pong!", 5, 0, (struct sockaddr *)&from, fromlen) == 5);
	fromlen = sizeof from;
	CHECK("the client gets the reply",
	      recvfrom(c, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen) == 5 &&
	          memcmp(buf, "pong!", 5) == 0);
	printf("  the reply came from %s\n", show(&from, &from_port));
	CHECK("connected UDP: connect", connect(c, (struct sockaddr *)&to, tolen) == 0);
	CHECK("connected UDP: send", send(c, "again", 5, 0) == 5);
	CHECK("connected UDP: the server gets it", recv(s, buf, sizeof buf, 0) == 5);
	close(c);
	close(s);
}

/* ---- UDP, non-blocking with epoll ---- */

static void udp_epoll(const struct family *f)
{
	printf("%s UDP, non-blocking with epoll, server on %s\n", f->name, f->any);
	int s = server(f, SOCK_DGRAM | SOCK_NONBLOCK, f->any);
	uint16_t port = local_port(s, NULL);
	char buf[1500];
	CHECK("recv with nothing there is EAGAIN", recv(s, buf, sizeof buf, 0) < 0 && errno == EAGAIN);
	struct sockaddr_storage to;
	socklen_t tolen = make_addr(f, f->loopback, port, &to);
	int c = socket(f->af, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	connect(c, (struct sockaddr *)&to, tolen);
	enum { COUNT = 50 };
	for (int i = 0; i < COUNT; i++) {
		memset(buf, i, sizeof buf);
		send(c, buf, (size_t)(i * 20 + 1), 0);
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
	int at_server = 0, intact = 0, at_client = 0;
	while (at_client < COUNT) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, 5000);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			for (;;) {
				struct sockaddr_storage from;
				socklen_t fromlen = sizeof from;
				ssize_t k = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
				if (k < 0)
					break;
				if (fd == s) {
					intact += k == at_server * 20 + 1 && buf[0] == at_server &&
					          buf[k - 1] == at_server;
					at_server++;
					sendto(s, buf, (size_t)k, 0, (struct sockaddr *)&from, fromlen);
				} else {
					at_client++;
				}
			}
		}
	}
	printf("  the server got %d of %d datagrams (%d intact, in order); %d came back\n",
	       at_server, COUNT, intact, at_client);
	close(ep);
	close(c);
	close(s);
}

/* ---- IPv4 client, dual-stack listener ---- */

static void dual_stack(void)
{
	printf("IPv4 client of a dual-stack :: listener\n");
	const struct family *six = &families[1], *four = &families[0];
	int l = server(six, SOCK_STREAM, "::");
	uint16_t port = local_port(l, NULL);
	struct sockaddr_storage to, peer;
	socklen_t tolen = make_addr(four, "127.0.0.1", port, &to), peerlen = sizeof peer;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK("connect to 127.0.0.1", connect(c, (struct sockaddr *)&to, tolen) == 0);
	int a = accept(l, (struct sockaddr *)&peer, &peerlen);
	uint16_t p = 0;
	printf("  accept sees the client at %s\n", show(&peer, &p));
	const char *addr = "?";
	local_port(a, &addr);
	printf("  the accepted socket is bound to %s\n", addr);
	close(a);
	close(c);
	/* The same port over IPv6 still reaches it. */
	tolen = make_addr(six, "::1", port, &to);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK("connect to ::1", connect(c, (struct sockaddr *)&to, tolen) == 0);
	peerlen = sizeof peer;
	a = accept(l, (struct sockaddr *)&peer, &peerlen);
	printf("  accept sees the client at %s\n", show(&peer, &p));
	close(a);
	close(c);
	close(l);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
		tcp_blocking(&families[i]);
		tcp_epoll(&families[i]);
		udp_blocking(&families[i]);
		udp_epoll(&families[i]);
	}
	dual_stack();
	printf("%s\n", failures ? "some checks failed" : "all checks passed");
	return failures ? 1 : 0;
}
