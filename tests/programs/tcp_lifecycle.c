/*
 * tcp_lifecycle.c: how TCP connections and listeners end (issue 23), over 127.0.0.1, printed
 * as facts so Linux and Kiln agree (tests/diff.rs):
 *  - a listener closed and bound again on its port while a connection it accepted lives:
 *    EADDRINUSE without SO_REUSEADDR, ok with it, and the new listener takes connections;
 *  - of two sockets bound with SO_REUSEADDR only one may listen;
 *  - close() with received data unread resets the connection: the peer's read fails with
 *    ECONNRESET at once instead of its writes filling a window nobody drains;
 *  - data sent to a socket its program closed resets the connection;
 *  - SO_LINGER {1, 0} resets; a plain close ends with end of stream;
 *  - shutdown() of a listener wakes a thread blocked in accept (EINVAL) and stops listening.
 * Ports are ephemeral and never printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *result(long rc)
{
	static char buf[32];
	if (rc >= 0) {
		snprintf(buf, sizeof buf, "%ld", rc);
		return buf;
	}
	switch (errno) {
	case EADDRINUSE: return "EADDRINUSE";
	case ECONNRESET: return "ECONNRESET";
	case EPIPE: return "EPIPE";
	case EAGAIN: return "EAGAIN";
	case EINVAL: return "EINVAL";
	default:
		snprintf(buf, sizeof buf, "errno %d", errno);
		return buf;
	}
}

static struct sockaddr_in at(unsigned short port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int tcp(int reuse)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
	return s;
}

static long bind_to(int s, unsigned short port)
{
	struct sockaddr_in a = at(port);
	return bind(s, (struct sockaddr *)&a, sizeof a);
}

static unsigned short port_of(int s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	getsockname(s, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

static int connect_to(unsigned short port)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = at(port);
	if (connect(c, (struct sockaddr *)&a, sizeof a) != 0)
		perror("connect");
	return c;
}

/* Waits (up to 5 s) until `s` is readable or has an error or hang-up. */
static void await_event(int s)
{
	struct pollfd p = {.fd = s, .events = POLLIN};
	poll(&p, 1, 5000);
}

/* A fresh listener on an ephemeral port, with SO_REUSEADDR as asked. */
static int listener(int reuse)
{
	int l = tcp(reuse);
	bind_to(l, 0);
	listen(l, 8);
	return l;
}

/* accept() in a thread of its own; its result and errno (errno is per thread). */
static long accepted, accept_errno;

static void *accept_thread(void *listener)
{
	accepted = accept(*(int *)listener, NULL, NULL);
	accept_errno = errno;
	return NULL;
}

int main(void)
{
	char buf[64];
	signal(SIGPIPE, SIG_IGN);

	/* 1. Closed and bound again while an accepted connection lives. */
	int l = listener(1);
	unsigned short port = port_of(l);
	int c = connect_to(port);
	int a = accept(l, NULL, NULL);
	close(l);
	int plain = tcp(0);
	printf("bind again without SO_REUSEADDR: %s\n", result(bind_to(plain, port)));
	close(plain);
	int again = tcp(1);
	printf("bind again with SO_REUSEADDR: %s\n", result(bind_to(again, port)));
	printf("listen again: %s\n", result(listen(again, 8)));
	int c2 = connect_to(port);
	int a2 = accept(again, NULL, NULL);
	printf("the new listener accepts: %s\n", a2 >= 0 ? "yes" : "no");
	printf("the old connection still carries data: %s\n",
	       write(c, "old", 3) == 3 && read(a, buf, sizeof buf) == 3 ? "yes" : "no");
	close(c2), close(a2), close(c), close(a), close(again);

	/* 2. Two sockets bound with SO_REUSEADDR: one listens. */
	int x = tcp(1), y = tcp(1);
	bind_to(x, 0);
	port = port_of(x);
	printf("second bind with SO_REUSEADDR: %s\n", result(bind_to(y, port)));
	printf("first listen: %s\n", result(listen(x, 1)));
	printf("second listen: %s\n", result(listen(y, 1)));
	close(x), close(y);

	/* 3. close() with unread data resets. */
	l = listener(0);
	c = connect_to(port_of(l));
	a = accept(l, NULL, NULL);
	write(c, "unread", 6);
	usleep(100000); /* the bytes reach a's receive queue */
	close(a);
	await_event(c);
	printf("read after the peer closed with unread data: %s\n", result(read(c, buf, sizeof buf)));
	close(c);

	/* 4. Data sent to a socket its program closed resets. */
	a = -1;
	c = connect_to(port_of(l));
	a = accept(l, NULL, NULL);
	close(a);
	await_event(c);
	printf("read after a plain close: %s\n", result(read(c, buf, sizeof buf)));
	printf("write after the peer closed: %s\n", result(write(c, "more", 4)));
	usleep(100000);
	await_event(c);
	printf("write once the reset came back: %s\n", result(write(c, "more", 4)));
	close(c);

	/* 5. SO_LINGER {1, 0} resets. */
	c = connect_to(port_of(l));
	a = accept(l, NULL, NULL);
	struct linger off = {1, 0};
	setsockopt(a, SOL_SOCKET, SO_LINGER, &off, sizeof off);
	close(a);
	await_event(c);
	printf("read after the peer closed with SO_LINGER {1, 0}: %s\n", result(read(c, buf, sizeof buf)));
	close(c);
	close(l);

	/* 6. shutdown() of a listener ends a blocked accept. */
	l = listener(0);
	pthread_t t;
	pthread_create(&t, NULL, accept_thread, &l);
	usleep(200000); /* the thread is blocked in accept */
	printf("shutdown of a listener: %s\n", result(shutdown(l, SHUT_RDWR)));
	pthread_join(t, NULL);
	errno = (int)accept_errno;
	printf("the blocked accept: %s\n", result(accepted));
	printf("accept after shutdown: %s\n", result(accept(l, NULL, NULL)));
	close(l);
	return 0;
}
