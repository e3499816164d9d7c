/*
 * event_tcp.c: os_tcp_* (include/kiln/os.h): servers, connections, client connects.
 *
 * A connection is a non-blocking socket registered level-triggered for what it needs now:
 * EPOLLIN while reading (connected, not paused, no end of stream yet) and EPOLLOUT while
 * connecting or while its write buffer holds data; with neither it is taken out of epoll
 * altogether (so a hung-up socket nobody reads cannot spin the loop). Received bytes go
 * through one buffer shared by all connections (callbacks never nest); written bytes that
 * the socket does not take at once are copied into the connection's own buffer, which grows
 * as needed and is kept for reuse.
 *
 * Closing (os_tcp_close, a failure, or both directions finished) closes the socket at once
 * and defers the rest: on_error (for a failure), then on_close, then the free, all from the
 * loop's deferred step (see event_internal.h for why freeing waits).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../include/kiln/os.h"
#include "event_internal.h"

struct os_tcp {
	struct kiln_watch watch; /* first: watches are passed around as this pointer */
	struct os_tcp_callbacks cb;
	void *arg;
	os_tcp_connect_cb on_connect;
	void *connect_arg;
	unsigned char *out; /* write buffer: bytes [out_head, out_head + out_len) are queued */
	size_t out_head, out_len, out_cap;
	int error;            /* the failure on_error will report, 0 if none */
	bool connecting;      /* connect() in progress */
	bool connected;
	bool connect_pending; /* connected at once: on_connect(0) is deferred */
	bool delivered;       /* handed to the program: reading may start */
	bool paused;          /* os_tcp_pause */
	bool eof;             /* the peer's end of stream was read */
	bool ending;          /* os_tcp_end: FIN once the buffer is empty */
	bool fin_sent;
	bool closing;         /* the socket is closed; on_close is coming */
	bool drain_wanted;    /* os_tcp_write returned 0: on_drain when the buffer empties */
};

struct os_tcp_server {
	struct kiln_watch watch;
	os_tcp_connection_cb on_connection;
	void *arg;
	bool accept_paused; /* out of descriptors or memory: waits for a connection to close */
	os_tcp_server *next_paused;
};

enum { READ_CHUNK = 65536, READS_PER_WAKEUP = 16, ACCEPTS_PER_WAKEUP = 64 };
static unsigned char read_buffer[READ_CHUNK];
static os_tcp_server *paused_servers;

static void update_events(os_tcp *c)
{
	if (c->closing)
		return;
	uint32_t want = 0;
	if (c->connected && c->delivered && !c->paused && !c->eof)
		want |= EPOLLIN;
	if (c->connecting || c->out_len > 0)
		want |= EPOLLOUT;
	if (!want) {
		__kiln_watch_remove(&c->watch);
		return;
	}
	int rc = __kiln_watch_set(&c->watch, want);
	if (rc < 0) { /* ENOMEM in epoll: the connection cannot be served */
		c->error = rc;
		os_tcp_close(c);
	}
}

/* Closes the socket now; the rest (on_error, on_close, free) follows from the loop. */
static void shut(os_tcp *c)
{
	c->closing = true;
	__kiln_watch_remove(&c->watch);
	close(c->watch.fd);
	c->watch.fd = -1;
	free(c->out);
	c->out = NULL;
	c->out_head = c->out_len = c->out_cap = 0;
	__kiln_defer(&c->watch);
}

static void fail(os_tcp *c, int err)
{
	if (c->closing)
		return;
	c->error = err;
	shut(c);
}

/* Both directions are finished: close normally. */
static void maybe_finish(os_tcp *c)
{
	if (!c->closing && c->fin_sent && c->eof)
		shut(c);
}

static void send_fin(os_tcp *c)
{
	if (c->fin_sent || c->closing)
		return;
	c->fin_sent = true;
	if (shutdown(c->watch.fd, SHUT_WR) < 0 && errno != ENOTCONN) {
		fail(c, -errno);
		return;
	}
	maybe_finish(c);
}

/* Sends what the socket takes; false if the connection failed. */
static bool flush(os_tcp *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->watch.fd, c->out + c->out_head, c->out_len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			fail(c, -errno);
			return false;
		}
		c->out_head += (size_t)n;
		c->out_len -= (size_t)n;
	}
	c->out_head = 0;
	if (c->ending)
		send_fin(c);
	return !c->closing;
}

static void resume_paused_servers(void)
{
	while (paused_servers) {
		os_tcp_server *s = paused_servers;
		paused_servers = s->next_paused;
		s->accept_paused = false;
		__kiln_watch_set(&s->watch, EPOLLIN);
	}
}

static void finish_close(os_tcp *c)
{
	if (c->error && c->cb.on_error) {
		int err = c->error;
		c->error = 0;
		c->cb.on_error(c, err, c->arg);
	}
	if (c->cb.on_close)
		c->cb.on_close(c, c->arg);
	free(c);
	__kiln_unref();
	resume_paused_servers();
}

static void deferred(struct kiln_watch *w)
{
	os_tcp *c = (os_tcp *)w;
	if (c->connect_pending) {
		c->connect_pending = false;
		if (c->on_connect)
			c->on_connect(c, 0, c->connect_arg);
		if (c->ending && c->out_len == 0)
			send_fin(c);
		update_events(c);
	}
	/* If a callback above closed it, shut() queued this function again: finish then. */
	if (c->closing && !c->watch.deferred)
		finish_close(c);
}

static int so_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

static void on_connected(os_tcp *c, int err)
{
	c->connecting = false;
	if (err) {
		c->closing = true; /* no on_error: the connect callback reports it */
		c->error = 0;
		if (c->on_connect)
			c->on_connect(c, -err, c->connect_arg);
		c->closing = false;
		shut(c);
		return;
	}
	c->connected = true;
	if (c->on_connect)
		c->on_connect(c, 0, c->connect_arg);
	if (c->ending && c->out_len == 0)
		send_fin(c); /* os_tcp_end() came before the connection did */
}

static void read_some(os_tcp *c)
{
	for (int i = 0; i < READS_PER_WAKEUP; i++) {
		if (c->closing || c->paused || c->eof || __kiln_loop_stopping())
			return;
		ssize_t n = recv(c->watch.fd, read_buffer, sizeof read_buffer, 0);
		if (n > 0) {
			if (c->cb.on_data)
				c->cb.on_data(c, read_buffer, (size_t)n, c->arg);
			continue;
		}
		if (n == 0) {
			c->eof = true;
			if (c->cb.on_data)
				c->cb.on_data(c, NULL, 0, c->arg);
			if (!c->closing) {
				os_tcp_end(c);
				maybe_finish(c); /* our FIN may have gone out before theirs came */
				update_events(c);
			}
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			fail(c, -errno);
		return;
	}
}

static void on_events(struct kiln_watch *w, uint32_t events)
{
	os_tcp *c = (os_tcp *)w;
	if (c->connecting) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			on_connected(c, so_error(c->watch.fd));
		if (!c->closing)
			update_events(c);
		return;
	}
	if (events & EPOLLERR) {
		int err = so_error(c->watch.fd);
		if (err) {
			fail(c, -err);
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP))
		read_some(c);
	if ((events & (EPOLLOUT | EPOLLHUP)) && !c->closing && c->out_len > 0) {
		if (!flush(c))
			return;
		if (c->out_len == 0 && c->drain_wanted) {
			c->drain_wanted = false;
			if (c->cb.on_drain)
				c->cb.on_drain(c, c->arg);
		}
	}
	update_events(c);
}

static os_tcp *new_connection(int fd)
{
	os_tcp *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->watch.fd = fd;
	c->watch.on_events = on_events;
	c->watch.on_deferred = deferred;
	__kiln_ref();
	return c;
}

void os_tcp_set_callbacks(os_tcp *c, const struct os_tcp_callbacks *callbacks, void *arg)
{
	if (callbacks)
		c->cb = *callbacks;
	else
		memset(&c->cb, 0, sizeof c->cb);
	c->arg = arg;
}

int os_tcp_write(os_tcp *c, const void *data, size_t len)
{
	if (c->closing || c->ending)
		return -EPIPE;
	const unsigned char *bytes = data;
	if (c->connected && c->out_len == 0) {
		while (len > 0) {
			ssize_t n = send(c->watch.fd, bytes, len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				fail(c, -errno);
				return -EPIPE;
			}
			bytes += n;
			len -= (size_t)n;
		}
	}
	if (len > 0) {
		if (c->out_head + c->out_len + len > c->out_cap) {
			memmove(c->out, c->out + c->out_head, c->out_len);
			c->out_head = 0;
		}
		if (c->out_len + len > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 16384;
			while (cap < c->out_len + len)
				cap *= 2;
			unsigned char *grown = realloc(c->out, cap);
			if (!grown)
				return -ENOMEM;
			c->out = grown;
			c->out_cap = cap;
		}
		memcpy(c->out + c->out_head + c->out_len, bytes, len);
		c->out_len += len;
		update_events(c);
	}
	if (c->out_len >= OS_TCP_HIGH_WATER) {
		c->drain_wanted = true;
		return 0;
	}
	return 1;
}

size_t os_tcp_buffered(const os_tcp *c)
{
	return c->out_len;
}

void os_tcp_end(os_tcp *c)
{
	if (c->closing || c->ending)
		return;
	c->ending = true;
	if (c->connected && c->out_len == 0)
		send_fin(c);
}

void os_tcp_close(os_tcp *c)
{
	if (!c->closing)
		shut(c);
}

void os_tcp_pause(os_tcp *c)
{
	c->paused = true;
	update_events(c);
}

void os_tcp_resume(os_tcp *c)
{
	c->paused = false;
	update_events(c);
}

int os_tcp_peer_address(os_tcp *c, struct sockaddr_storage *addr)
{
	socklen_t len = sizeof *addr;
	if (c->closing)
		return -EBADF;
	if (getpeername(c->watch.fd, (struct sockaddr *)addr, &len) < 0)
		return -errno;
	return 0;
}

int os_tcp_local_address(os_tcp *c, struct sockaddr_storage *addr)
{
	socklen_t len = sizeof *addr;
	if (c->closing)
		return -EBADF;
	if (getsockname(c->watch.fd, (struct sockaddr *)addr, &len) < 0)
		return -errno;
	return 0;
}

int os_tcp_connect(os_tcp **out, const char *host, uint16_t port, os_tcp_connect_cb on_connect,
                   void *arg)
{
	if (!out)
		return -EINVAL;
	struct sockaddr_storage addr;
	int len = __kiln_parse_addr(host, port, &addr);
	if (len < 0)
		return len;
	int rc = __kiln_loop_init();
	if (rc < 0)
		return rc;
	int fd = __kiln_socket(addr.ss_family, SOCK_STREAM);
	if (fd < 0)
		return fd;
	int on = 1;
	/* Latency, not correctness: a stack without Nagle control is still usable. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	bool in_progress = false;
	if (connect(fd, (struct sockaddr *)&addr, (socklen_t)len) < 0) {
		if (errno != EINPROGRESS) {
			rc = -errno;
			close(fd);
			return rc;
		}
		in_progress = true;
	}
	os_tcp *c = new_connection(fd);
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->on_connect = on_connect;
	c->connect_arg = arg;
	c->delivered = true;
	if (in_progress) {
		c->connecting = true;
		update_events(c);
	} else {
		c->connected = true;
		c->connect_pending = true;
		__kiln_defer(&c->watch);
	}
	*out = c;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Servers                                                                                  */

static void pause_accepting(os_tcp_server *s)
{
	if (s->accept_paused)
		return;
	s->accept_paused = true;
	__kiln_watch_remove(&s->watch);
	s->next_paused = paused_servers;
	paused_servers = s;
}

static void on_acceptable(struct kiln_watch *w, uint32_t events)
{
	(void)events;
	os_tcp_server *s = (os_tcp_server *)w;
	for (int i = 0; i < ACCEPTS_PER_WAKEUP && s->watch.fd >= 0 && !__kiln_loop_stopping(); i++) {
		int fd = accept4(s->watch.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				pause_accepting(s);
			return; /* EAGAIN: accepted everything */
		}
		int on = 1;
		/* Latency, not correctness: a stack without Nagle control is still usable. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
		os_tcp *c = new_connection(fd);
		if (!c) {
			close(fd);
			pause_accepting(s);
			return;
		}
		c->connected = true;
		s->on_connection(s, c, s->arg);
		c->delivered = true;
		update_events(c);
	}
}

static void release_server(struct kiln_watch *w)
{
	free(w);
	__kiln_unref();
}

int os_tcp_listen(os_tcp_server **out, const char *host, uint16_t port, int backlog,
                  os_tcp_connection_cb on_connection, void *arg)
{
	if (!out || !on_connection)
		return -EINVAL;
	struct sockaddr_storage addr;
	int len = __kiln_parse_addr(host, port, &addr);
	if (len < 0)
		return len;
	int rc = __kiln_loop_init();
	if (rc < 0)
		return rc;
	os_tcp_server *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	int fd = __kiln_socket(addr.ss_family, SOCK_STREAM);
	if (fd < 0) {
		free(s);
		return fd;
	}
	int on = 1;
	/* Restarting a server must not wait for old connections' TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, (socklen_t)len) < 0 ||
	    listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
		rc = -errno;
		goto fail;
	}
	s->watch.fd = fd;
	s->watch.on_events = on_acceptable;
	s->watch.on_deferred = release_server;
	s->on_connection = on_connection;
	s->arg = arg;
	rc = __kiln_watch_set(&s->watch, EPOLLIN);
	if (rc < 0)
		goto fail;
	__kiln_ref();
	*out = s;
	return 0;
fail:
	close(fd);
	free(s);
	return rc;
}

int os_tcp_server_address(os_tcp_server *s, struct sockaddr_storage *addr)
{
	socklen_t len = sizeof *addr;
	if (getsockname(s->watch.fd, (struct sockaddr *)addr, &len) < 0)
		return -errno;
	return 0;
}

void os_tcp_server_close(os_tcp_server *s)
{
	if (!s || s->watch.fd < 0)
		return;
	if (s->accept_paused) {
		for (os_tcp_server **p = &paused_servers; *p; p = &(*p)->next_paused) {
			if (*p == s) {
				*p = s->next_paused;
				break;
			}
		}
	}
	__kiln_watch_remove(&s->watch);
	close(s->watch.fd);
	s->watch.fd = -1;
	/* Freed from the loop: an epoll batch being dispatched may still name it. */
	__kiln_defer(&s->watch);
}
