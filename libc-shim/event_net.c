/*
 * event_net.c: os_on_network_ready and os_net_addresses (include/kiln/os.h).
 *
 * Both sit behind one small function each, so that the Kiln runtime's own readiness signal
 * and address list can replace them without touching callers: network_is_ready() and
 * list_addresses().
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../include/kiln/os.h"
#include "event_internal.h"

/*
 * Whether the interfaces have their addresses. On Linux they are configured before a
 * program starts. In a Kiln guest the runtime will report when DHCP/SLAAC finished (the
 * network issue); until it does, the answer is "now" there too.
 */
static bool network_is_ready(void)
{
	return true;
}

struct ready_wait {
	struct kiln_watch watch; /* first: the deferred function gets this pointer */
	void (*callback)(void *arg);
	void *arg;
};

static void run_ready(struct kiln_watch *w)
{
	struct ready_wait *r = (struct ready_wait *)w;
	if (!network_is_ready()) {
		/* Not reached while network_is_ready() is constant; polls once per iteration. */
		__kiln_defer(w);
		return;
	}
	r->callback(r->arg);
	free(r);
	__kiln_unref();
}

int os_on_network_ready(void (*callback)(void *arg), void *arg)
{
	if (!callback)
		return -EINVAL;
	struct ready_wait *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->watch.fd = -1;
	r->watch.on_deferred = run_ready;
	r->callback = callback;
	r->arg = arg;
	__kiln_ref();
	__kiln_defer(&r->watch);
	return 0;
}

static unsigned prefix_len(const struct sockaddr *mask)
{
	const unsigned char *bytes;
	size_t n;
	if (!mask)
		return 0;
	if (mask->sa_family == AF_INET) {
		bytes = (const unsigned char *)&((const struct sockaddr_in *)mask)->sin_addr;
		n = 4;
	} else if (mask->sa_family == AF_INET6) {
		bytes = (const unsigned char *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
		n = 16;
	} else {
		return 0;
	}
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++)
		bits += (unsigned)__builtin_popcount(bytes[i]);
	return bits;
}

/* The interfaces' addresses, from getifaddrs (netlink on Linux); count or -errno. */
static int list_addresses(struct os_net_address *out, size_t max)
{
	struct ifaddrs *list;
	if (getifaddrs(&list) < 0)
		return -errno;
	int count = 0;
	for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr)
			continue;
		int family = ifa->ifa_addr->sa_family;
		if (family != AF_INET && family != AF_INET6)
			continue;
		if ((size_t)count < max) {
			struct os_net_address *a = &out[count];
			memset(a, 0, sizeof *a);
			strncpy(a->interface, ifa->ifa_name, sizeof a->interface - 1);
			memcpy(&a->addr, ifa->ifa_addr,
			       family == AF_INET ? sizeof(struct sockaddr_in)
			                         : sizeof(struct sockaddr_in6));
			a->prefix_len = prefix_len(ifa->ifa_netmask);
		}
		count++;
	}
	freeifaddrs(list);
	return count;
}

int os_net_addresses(struct os_net_address *out, size_t max)
{
	if (!out && max)
		return -EINVAL;
	return list_addresses(out, max);
}
