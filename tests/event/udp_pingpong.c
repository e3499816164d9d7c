/*
 * udp_pingpong.c: UDP over IPv4 and IPv6 side by side. Waits for os_on_network_ready, checks
 * that os_net_addresses lists the loopback addresses, then per family: an echo socket and a
 * client socket; the client sends COUNT datagrams of sizes 0..1400; the echo replies to the
 * sender's address. Checks: every datagram came back intact, the echo saw the client's
 * address as the peer, a send to the other family fails with -EAFNOSUPPORT, and the echo
 * socket closing itself inside on_datagram gets no further datagrams. Then everything is
 * closed and the loop ends (status 0).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <kiln/os.h>

#include "check.h"

#define COUNT 100

struct pair {
	const char *name;
	const char *host;
	os_udp *echo, *client;
	struct sockaddr_storage echo_addr, client_addr;
	int echoed, wrong_peer, returned, corrupt, after_close;
	bool echo_closed;
};

static struct pair pairs[] = {{"IPv4", "127.0.0.1"}, {"IPv6", "::1"}};
enum { N = sizeof pairs / sizeof pairs[0] };
static int finished;

static size_t size_of(int i)
{
	return (size_t)(i * 14) % 1401;
}

static void fill(unsigned char *buf, int i)
{
	buf[0] = (unsigned char)i;
	for (size_t j = 1; j < size_of(i); j++)
		buf[j] = (unsigned char)(i + j);
}

static void report(void)
{
	for (int i = 0; i < N; i++) {
		struct pair *p = &pairs[i];
		char name[80];
		snprintf(name, sizeof name, "%s: every datagram came back intact", p->name);
		CHECK(name, p->returned == COUNT && p->corrupt == 0, "%d back, %d corrupt",
		      p->returned, p->corrupt);
		snprintf(name, sizeof name, "%s: the echo saw the client as the peer", p->name);
		CHECK(name, p->echoed >= COUNT && p->wrong_peer == 0, "%d wrong", p->wrong_peer);
		snprintf(name, sizeof name, "%s: nothing delivered after closing in on_datagram",
		         p->name);
		CHECK(name, p->echo_closed && p->after_close == 0, "%d", p->after_close);
		os_udp_close(p->client);
	}
	if (check_status())
		os_shutdown(1);
}

static void on_report(os_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	report();
}

static void on_echo(os_udp *udp, const void *data, size_t len, const struct sockaddr *from,
                    socklen_t fromlen, void *arg)
{
	struct pair *p = arg;
	if (p->echo_closed) {
		p->after_close++;
		return;
	}
	if (len == 3 && memcmp(data, "bye", 3) == 0) {
		os_udp_close(udp);
		p->echo_closed = true;
		if (++finished == N)
			os_timer_start(NULL, 20, 0, on_report, NULL);
		return;
	}
	p->echoed++;
	if (os_addr_port(from) != os_addr_port((struct sockaddr *)&p->client_addr))
		p->wrong_peer++;
	int rc = os_udp_send(udp, data, len, from, fromlen);
	if (rc < 0)
		printf("%s: echo send: FAIL (%d)\n", p->name, rc);
}

static void on_reply(os_udp *udp, const void *data, size_t len, const struct sockaddr *from,
                     socklen_t fromlen, void *arg)
{
	(void)udp;
	(void)from;
	(void)fromlen;
	struct pair *p = arg;
	unsigned char want[1400];
	int i = len ? ((const unsigned char *)data)[0] : 0;
	fill(want, i);
	if (len != size_of(i) || (len && memcmp(data, want, len) != 0))
		p->corrupt++;
	if (++p->returned == COUNT) {
		/* "bye" closes the echo inside its callback; "late" must never be delivered. */
		socklen_t addrlen = p->echo_addr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
		                                                      : sizeof(struct sockaddr_in6);
		os_udp_send(p->client, "bye", 3, (struct sockaddr *)&p->echo_addr, addrlen);
		os_udp_send(p->client, "late", 4, (struct sockaddr *)&p->echo_addr, addrlen);
	}
}


static void start(void *arg)
{
	(void)arg;
	struct os_net_address addrs[32];
	int n = os_net_addresses(addrs, 32);
	bool v4 = false, v6 = false;
	for (int i = 0; i < n && i < 32; i++) {
		char text[64];
		os_addr_format((struct sockaddr *)&addrs[i].addr, text, sizeof text);
		v4 |= strcmp(text, "127.0.0.1:0") == 0 && addrs[i].prefix_len == 8;
		v6 |= strcmp(text, "[::1]:0") == 0 && addrs[i].prefix_len == 128;
	}
	CHECK("os_net_addresses lists 127.0.0.1/8 and ::1/128", v4 && v6, "%d addresses", n);

	for (int i = 0; i < N; i++) {
		struct pair *p = &pairs[i];
		int rc = os_udp_bind(&p->echo, p->host, 0, on_echo, p);
		if (rc == 0)
			rc = os_udp_bind(&p->client, p->host, 0, on_reply, p);
		if (rc == 0)
			rc = os_udp_address(p->echo, &p->echo_addr);
		if (rc == 0)
			rc = os_udp_address(p->client, &p->client_addr);
		if (rc < 0) {
			printf("%s: setup: FAIL (%d)\n", p->name, rc);
			os_shutdown(1);
			return;
		}
	}
	CHECK("send to the other family is -EAFNOSUPPORT",
	      os_udp_send(pairs[0].client, "x", 1, (struct sockaddr *)&pairs[1].echo_addr,
	                  sizeof(struct sockaddr_in6)) == -EAFNOSUPPORT, "accepted");
	for (int i = 0; i < N; i++) {
		struct pair *p = &pairs[i];
		socklen_t len = p->echo_addr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
		                                                  : sizeof(struct sockaddr_in6);
		for (int k = 0; k < COUNT; k++) {
			unsigned char buf[1400];
			fill(buf, k);
			int rc = os_udp_send(p->client, buf, size_of(k), (struct sockaddr *)&p->echo_addr,
			                     len);
			if (rc < 0)
				printf("%s: send %d: FAIL (%d)\n", p->name, k, rc);
		}
	}
}

void OS_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK("a non-numeric host is -EINVAL",
	      os_udp_bind(&pairs[0].echo, "localhost", 0, on_echo, NULL) == -EINVAL, "accepted");
	os_on_network_ready(start, NULL);
}
