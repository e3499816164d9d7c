/*
 * event_udp.c: os_udp_* (include/kiln/os.h).
 *
 * One non-blocking socket per handle, level-triggered EPOLLIN. Received datagrams go
 * through one buffer shared by every socket (callbacks never nest, so one is enough): no
 * allocation per datagram. A wake-up reads at most a batch of datagrams so that one busy
 * socket cannot starve the others; level triggering brings the loop back for the rest.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../include/kiln/os.h"
#include "event_internal.h"

struct os_udp {
	struct kiln_watch watch; /* first: watches are passed around as this pointer */
	os_udp_cb on_datagram;
	void *arg;
	int family;
};

enum { DATAGRAM_MAX = 65535, BATCH = 32 };
static unsigned char datagram[DATAGRAM_MAX];

static void on_readable(struct kiln_watch *w, uint32_t events)
{
	(void)events;
	os_udp *u = (os_udp *)w;
	for (int i = 0; i < BATCH && u->watch.fd >= 0 && !__kiln_loop_stopping(); i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof from;
		ssize_t n = recvfrom(u->watch.fd, datagram, sizeof datagram, 0,
		                     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			/* EAGAIN: drained. Anything else (an ICMP error reported as ECONNREFUSED,
			 * for instance) concerns one earlier datagram, not the socket: go on later. */
			break;
		}
		u->on_datagram(u, datagram, (size_t)n, (struct sockaddr *)&from, fromlen, u->arg);
	}
}

static void release(struct kiln_watch *w)
{
	free(w);
	__kiln_unref();
}

int os_udp_bind(os_udp **out, const char *host, uint16_t port, os_udp_cb on_datagram, void *arg)
{
	if (!out || !on_datagram)
		return -EINVAL;
	struct sockaddr_storage addr;
	int len = __kiln_parse_addr(host, port, &addr);
	if (len < 0)
		return len;
	int rc = __kiln_loop_init();
	if (rc < 0)
		return rc;
	os_udp *u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	int fd = __kiln_socket(addr.ss_family, SOCK_DGRAM);
	if (fd < 0) {
		free(u);
		return fd;
	}
	if (bind(fd, (struct sockaddr *)&addr, (socklen_t)len) < 0) {
		rc = -errno;
		goto fail;
	}
	u->watch.fd = fd;
	u->watch.on_events = on_readable;
	u->watch.on_deferred = release;
	u->on_datagram = on_datagram;
	u->arg = arg;
	u->family = addr.ss_family;
	rc = __kiln_watch_set(&u->watch, EPOLLIN);
	if (rc < 0)
		goto fail;
	__kiln_ref();
	*out = u;
	return 0;
fail:
	close(fd);
	free(u);
	return rc;
}

int os_udp_send(os_udp *u, const void *data, size_t len, const struct sockaddr *to,
                socklen_t tolen)
{
	if (!u || u->watch.fd < 0 || !to)
		return -EINVAL;
	if (to->sa_family != u->family)
		return -EAFNOSUPPORT;
	if (sendto(u->watch.fd, data, len, MSG_NOSIGNAL, to, tolen) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

int os_udp_address(os_udp *u, struct sockaddr_storage *addr)
{
	socklen_t len = sizeof *addr;
	if (getsockname(u->watch.fd, (struct sockaddr *)addr, &len) < 0)
		return -errno;
	return 0;
}

void os_udp_close(os_udp *u)
{
	if (!u || u->watch.fd < 0)
		return;
	__kiln_watch_remove(&u->watch);
	close(u->watch.fd);
	u->watch.fd = -1;
	/* Freed from the loop: an epoll batch being dispatched may still name it. */
	__kiln_defer(&u->watch);
}
