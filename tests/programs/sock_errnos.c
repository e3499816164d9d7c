/*
 * sock_errnos.c: the socket error table (issue 3). Runs each error case over loopback and
 * prints `case: ERRNO-NAME` (or `ok`, or a value), one per line; tests/diff.rs runs it on
 * Linux and as a Kiln image and compares the lines. Ports are ephemeral and never printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char *errno_name(int e)
{
	switch (e) {
	case EAGAIN: return "EAGAIN";
	case EINVAL: return "EINVAL";
	case EPIPE: return "EPIPE";
	case EBADF: return "EBADF";
	case ENOTSOCK: return "ENOTSOCK";
	case EDESTADDRREQ: return "EDESTADDRREQ";
	case EMSGSIZE: return "EMSGSIZE";
	case EPROTOTYPE: return "EPROTOTYPE";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EADDRINUSE: return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case ENETDOWN: return "ENETDOWN";
	case ENETUNREACH: return "ENETUNREACH";
	case ECONNABORTED: return "ECONNABORTED";
	case ECONNRESET: return "ECONNRESET";
	case EISCONN: return "EISCONN";
	case ENOTCONN: return "ENOTCONN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EALREADY: return "EALREADY";
	case EINPROGRESS: return "EINPROGRESS";
	default: {
		static char other[32];
		snprintf(other, sizeof other, "errno %d", e);
		return other;
	}
	}
}

/* Prints `what: ok` or `what: ERRNO` for a call's return value. */
static void report(const char *what, long rc)
{
	printf("%s: %s\n", what, rc >= 0 ? "ok" : errno_name(errno));
}

static socklen_t addr4(const char *ip, uint16_t port, struct sockaddr_storage *out)
{
	struct sockaddr_in *a = (struct sockaddr_in *)out;
	memset(out, 0, sizeof *out);
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	inet_pton(AF_INET, ip, &a->sin_addr);
	return sizeof *a;
}

static socklen_t addr6(const char *ip, uint16_t port, struct sockaddr_storage *out)
{
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
	memset(out, 0, sizeof *out);
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &a->sin6_addr);
	return sizeof *a;
}

static socklen_t addr(int af, uint16_t port, struct sockaddr_storage *out)
{
	return af == AF_INET ? addr4("127.0.0.1", port, out) : addr6("::1", port, out);
}

#define SA(s) ((struct sockaddr *)(s))

static uint16_t port_of(int fd)
{
	struct sockaddr_storage s;
	socklen_t len = sizeof s;
	getsockname(fd, SA(&s), &len);
	return ntohs(s.ss_family == AF_INET ? ((struct sockaddr_in *)&s)->sin_port
	                                    : ((struct sockaddr_in6 *)&s)->sin6_port);
}

/* A TCP listener on the loopback address of `af`, ephemeral port. */
static int listener(int af)
{
	struct sockaddr_storage a;
	socklen_t len = addr(af, 0, &a);
	int l = socket(af, SOCK_STREAM, 0);
	bind(l, SA(&a), len);
	listen(l, 8);
	return l;
}

/* A connected pair over loopback: *client and *server (accepted). */
static void pair(int af, int *client, int *server)
{
	int l = listener(af);
	struct sockaddr_storage a;
	socklen_t len = addr(af, port_of(l), &a);
	*client = socket(af, SOCK_STREAM, 0);
	connect(*client, SA(&a), len);
	*server = accept(l, NULL, NULL);
	close(l);
}

/* A port nothing listens on: bound once, then freed. */
static uint16_t free_port(int af)
{
	struct sockaddr_storage a;
	socklen_t len = addr(af, 0, &a);
	int s = socket(af, SOCK_STREAM, 0);
	bind(s, SA(&a), len);
	uint16_t port = port_of(s);
	close(s);
	return port;
}

/* Waits (up to 2 s) until `fd` has something to report. */
static void settle(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	poll(&p, 1, 2000);
}

static void reset_by_peer(int af, const char *name, int recv_first)
{
	char what[96], buf[16];
	int c, s;
	pair(af, &c, &s);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(s);
	settle(c, POLLIN);
	if (recv_first) {
		snprintf(what, sizeof what, "%s: recv after the peer reset (SO_LINGER 0 close)", name);
		report(what, recv(c, buf, sizeof buf, 0));
		snprintf(what, sizeof what, "%s: then recv again", name);
		printf("%s: %ld\n", what, (long)recv(c, buf, sizeof buf, 0));
		snprintf(what, sizeof what, "%s: then send (MSG_NOSIGNAL)", name);
		report(what, send(c, "x", 1, MSG_NOSIGNAL));
	} else {
		snprintf(what, sizeof what, "%s: send (MSG_NOSIGNAL) after the peer reset", name);
		report(what, send(c, "x", 1, MSG_NOSIGNAL));
		snprintf(what, sizeof what, "%s: then send again", name);
		report(what, send(c, "x", 1, MSG_NOSIGNAL));
	}
	int err = -1;
	socklen_t elen = sizeof err;
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen);
	snprintf(what, sizeof what, "%s: SO_ERROR afterwards", name);
	printf("%s: %d\n", what, err);
	close(c);
}

static void per_family(int af, const char *name)
{
	char what[96], buf[16];
	struct sockaddr_storage a;
	socklen_t len;

	/* Connecting. */
	len = addr(af, free_port(af), &a);
	int s = socket(af, SOCK_STREAM, 0);
	snprintf(what, sizeof what, "%s: connect to a closed port", name);
	report(what, connect(s, SA(&a), len));
	close(s);

	len = addr(af, 0, &a);
	s = socket(af, SOCK_STREAM, 0);
	snprintf(what, sizeof what, "%s: connect to port 0", name);
	report(what, connect(s, SA(&a), len));
	close(s);

	int l = listener(af);
	len = addr(af, port_of(l), &a);
	s = socket(af, SOCK_STREAM | SOCK_NONBLOCK, 0);
	snprintf(what, sizeof what, "%s: non-blocking connect", name);
	report(what, connect(s, SA(&a), len));
	settle(s, POLLOUT);
	int err = -1;
	socklen_t elen = sizeof err;
	getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen);
	snprintf(what, sizeof what, "%s: SO_ERROR once writable", name);
	printf("%s: %d\n", what, err);
	snprintf(what, sizeof what, "%s: connect again when connected", name);
	report(what, connect(s, SA(&a), len));
	snprintf(what, sizeof what, "%s: listen on a connected socket", name);
	report(what, listen(s, 1));
	int acc = accept(l, NULL, NULL);
	snprintf(what, sizeof what, "%s: non-blocking recv with nothing there", name);
	report(what, recv(s, buf, sizeof buf, 0));
	snprintf(what, sizeof what, "%s: recv with MSG_DONTWAIT, nothing there", name);
	report(what, recv(acc, buf, sizeof buf, MSG_DONTWAIT));

	/* SO_RCVTIMEO on a connected socket. */
	struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
	setsockopt(acc, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	snprintf(what, sizeof what, "%s: TCP recv when SO_RCVTIMEO expires", name);
	report(what, recv(acc, buf, sizeof buf, 0));

	/* Half-close. */
	shutdown(s, SHUT_WR);
	snprintf(what, sizeof what, "%s: send after shutdown(SHUT_WR) (MSG_NOSIGNAL)", name);
	report(what, send(s, "x", 1, MSG_NOSIGNAL));
	snprintf(what, sizeof what, "%s: write after shutdown(SHUT_WR), SIGPIPE ignored", name);
	report(what, write(s, "x", 1));
	settle(acc, POLLIN);
	snprintf(what, sizeof what, "%s: the peer reads end of stream", name);
	printf("%s: %ld\n", what, (long)recv(acc, buf, sizeof buf, 0));
	snprintf(what, sizeof what, "%s: the peer can still send", name);
	report(what, send(acc, "back", 4, MSG_NOSIGNAL));
	settle(s, POLLIN);
	snprintf(what, sizeof what, "%s: and the half-closed side reads it", name);
	printf("%s: %ld\n", what, (long)recv(s, buf, sizeof buf, 0));
	close(acc);
	close(s);

	/* Accepting. */
	int nl = socket(af, SOCK_STREAM | SOCK_NONBLOCK, 0);
	len = addr(af, 0, &a);
	bind(nl, SA(&a), len);
	snprintf(what, sizeof what, "%s: accept on a socket that does not listen", name);
	report(what, accept(nl, NULL, NULL));
	listen(nl, 4);
	snprintf(what, sizeof what, "%s: non-blocking accept with nobody connecting", name);
	report(what, accept(nl, NULL, NULL));
	close(nl);

	/* Binding. */
	int b1 = socket(af, SOCK_STREAM, 0), b2 = socket(af, SOCK_STREAM, 0);
	len = addr(af, 0, &a);
	bind(b1, SA(&a), len);
	len = addr(af, port_of(b1), &a);
	snprintf(what, sizeof what, "%s: bind to a port bound already", name);
	report(what, bind(b2, SA(&a), len));
	snprintf(what, sizeof what, "%s: bind a bound socket again", name);
	report(what, bind(b1, SA(&a), len));
	close(b2);
	listen(b1, 1);
	int one = 1;
	b2 = socket(af, SOCK_STREAM, 0);
	setsockopt(b1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(b2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	snprintf(what, sizeof what, "%s: bind with SO_REUSEADDR while a listener has the port",
	         name);
	report(what, bind(b2, SA(&a), len));
	close(b2);
	close(b1);
	close(l);

	len = af == AF_INET ? addr4("192.0.2.1", 0, &a) : addr6("2001:db8::1", 0, &a);
	s = socket(af, SOCK_STREAM, 0);
	snprintf(what, sizeof what, "%s: bind to an address of no interface", name);
	report(what, bind(s, SA(&a), len));
	len = af == AF_INET ? addr6("::1", 0, &a) : addr4("127.0.0.1", 0, &a);
	if (af == AF_INET6)
		len = sizeof(struct sockaddr_in6); /* long enough; the family is wrong */
	snprintf(what, sizeof what, "%s: bind with the other family's address", name);
	report(what, bind(s, SA(&a), len));
	close(s);

	/* Not connected. */
	s = socket(af, SOCK_STREAM, 0);
	snprintf(what, sizeof what, "%s: recv on an unconnected TCP socket", name);
	report(what, recv(s, buf, sizeof buf, 0));
	snprintf(what, sizeof what, "%s: send on an unconnected TCP socket", name);
	report(what, send(s, "x", 1, MSG_NOSIGNAL));
	snprintf(what, sizeof what, "%s: getpeername of an unconnected TCP socket", name);
	len = sizeof a;
	report(what, getpeername(s, SA(&a), &len));
	snprintf(what, sizeof what, "%s: shutdown of an unconnected TCP socket", name);
	report(what, shutdown(s, SHUT_RDWR));
	close(s);

	/* UDP. */
	int u = socket(af, SOCK_DGRAM, 0);
	snprintf(what, sizeof what, "%s: listen on a UDP socket", name);
	report(what, listen(u, 1));
	snprintf(what, sizeof what, "%s: send on an unconnected UDP socket", name);
	report(what, send(u, "x", 1, 0));
	snprintf(what, sizeof what, "%s: getpeername of an unconnected UDP socket", name);
	len = sizeof a;
	report(what, getpeername(u, SA(&a), &len));
	len = addr(af, 0, &a);
	bind(u, SA(&a), len);
	setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	snprintf(what, sizeof what, "%s: UDP recv when SO_RCVTIMEO expires", name);
	report(what, recv(u, buf, sizeof buf, 0));
	int u2 = socket(af, SOCK_DGRAM, 0);
	len = addr(af, port_of(u), &a);
	snprintf(what, sizeof what, "%s: UDP bind to a port bound already", name);
	report(what, bind(u2, SA(&a), len));
	close(u2);
	close(u);

	reset_by_peer(af, name, 1);
	reset_by_peer(af, name, 0);
}

static void v6only(void)
{
	struct sockaddr_storage a;
	socklen_t len;
	int off = 0, on = 1, value = -1;
	socklen_t vlen = sizeof value;

	int d = socket(AF_INET6, SOCK_STREAM, 0);
	getsockopt(d, IPPROTO_IPV6, IPV6_V6ONLY, &value, &vlen);
	printf("IPV6_V6ONLY by default: %d\n", value);
	setsockopt(d, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
	len = addr6("::", 0, &a);
	report("bind :: with IPV6_V6ONLY 0", bind(d, SA(&a), len));
	uint16_t port = port_of(d);
	report("IPV6_V6ONLY set after bind", setsockopt(d, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on));
	int f = socket(AF_INET, SOCK_STREAM, 0);
	len = addr4("0.0.0.0", port, &a);
	report("then 0.0.0.0 on the same port", bind(f, SA(&a), len));
	len = addr4("127.0.0.1", port, &a);
	report("then 127.0.0.1 on the same port", bind(f, SA(&a), len));
	close(f);

	/* An IPv4 client reaches the dual-stack listener as a v4-mapped address. */
	listen(d, 4);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	len = addr4("127.0.0.1", port, &a);
	report("an IPv4 client connects to the dual-stack listener", connect(c, SA(&a), len));
	struct sockaddr_in6 peer;
	socklen_t plen = sizeof peer;
	int acc = accept(d, (struct sockaddr *)&peer, &plen);
	char text[INET6_ADDRSTRLEN] = "?";
	inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof text);
	printf("accept reports the IPv4 client as: %s (family %s, length %u)\n", text,
	       peer.sin6_family == AF_INET6 ? "AF_INET6" : "other", (unsigned)plen);
	close(acc);
	close(c);
	close(d);

	int s6 = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	vlen = sizeof value;
	getsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &value, &vlen);
	printf("IPV6_V6ONLY after setting it: %d\n", value);
	len = addr6("::", 0, &a);
	report("bind :: with IPV6_V6ONLY 1", bind(s6, SA(&a), len));
	port = port_of(s6);
	int s4 = socket(AF_INET, SOCK_STREAM, 0);
	len = addr4("0.0.0.0", port, &a);
	report("then 0.0.0.0 on the same port", bind(s4, SA(&a), len));
	int again = socket(AF_INET6, SOCK_STREAM, 0);
	len = addr6("::1", port, &a);
	report("then ::1 on the same port", bind(again, SA(&a), len));
	close(again);
	listen(s6, 4);
	c = socket(AF_INET, SOCK_STREAM, 0);
	len = addr4("127.0.0.1", port, &a);
	report("an IPv4 client of the IPv6-only listener (nothing on IPv4 listens)",
	       connect(c, SA(&a), len));
	close(c);
	listen(s4, 4);
	c = socket(AF_INET, SOCK_STREAM, 0);
	report("an IPv4 client once 0.0.0.0 listens too", connect(c, SA(&a), len));
	acc = accept(s4, NULL, NULL);
	report("the IPv4 listener accepts it", acc);
	close(acc);
	close(c);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	len = addr6("::1", port, &a);
	report("an IPv6 client of the same port", connect(c, SA(&a), len));
	acc = accept(s6, NULL, NULL);
	report("the IPv6 listener accepts it", acc);
	close(acc);
	close(c);
	close(s4);
	close(s6);

	/* 0.0.0.0 first, then :: without IPV6_V6ONLY. */
	s4 = socket(AF_INET, SOCK_DGRAM, 0);
	len = addr4("0.0.0.0", 0, &a);
	bind(s4, SA(&a), len);
	port = port_of(s4);
	s6 = socket(AF_INET6, SOCK_DGRAM, 0);
	len = addr6("::", port, &a);
	report("UDP: :: (dual) on the port of a 0.0.0.0 socket", bind(s6, SA(&a), len));
	close(s6);
	s6 = socket(AF_INET6, SOCK_DGRAM, 0);
	setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	report("UDP: :: (IPv6 only) on the same port", bind(s6, SA(&a), len));
	close(s6);
	close(s4);

	int v4 = socket(AF_INET, SOCK_STREAM, 0);
	report("IPV6_V6ONLY on an AF_INET socket",
	       setsockopt(v4, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on));
	close(v4);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	report("socket with an unknown address family", socket(4242, SOCK_STREAM, 0));
	report("socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	report("socket(AF_INET, SOCK_SEQPACKET, 0)", socket(AF_INET, SOCK_SEQPACKET, 0));
	report("a socket call on a pipe", ({
		       int p[2];
		       pipe(p);
		       listen(p[0], 1);
	       }));
	report("a socket call on a closed descriptor", listen(999, 1));
	per_family(AF_INET, "IPv4");
	per_family(AF_INET6, "IPv6");
	v6only();
	return 0;
}
