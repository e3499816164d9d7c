/*
 * event_addr.c: numeric addresses and non-blocking sockets for event_udp.c and event_tcp.c,
 * and os_addr_format / os_addr_port (include/kiln/os.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../include/kiln/os.h"
#include "event_internal.h"

int __kiln_parse_addr(const char *host, uint16_t port, void *storage)
{
	if (!host)
		return -EINVAL;
	struct sockaddr_in *v4 = storage;
	struct sockaddr_in6 *v6 = storage;
	memset(storage, 0, sizeof(struct sockaddr_storage));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		return sizeof *v4;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		return sizeof *v6;
	}
	return -EINVAL;
}

int __kiln_socket(int family, int type)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		int on = 1;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
	}
	return fd;
}

uint16_t os_addr_port(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)addr)->sin_port);
	if (addr->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
	return 0;
}

int os_addr_format(const struct sockaddr *addr, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	if (addr->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, ip, sizeof ip);
		return snprintf(buf, size, "%s:%u", ip, os_addr_port(addr));
	}
	if (addr->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, ip, sizeof ip);
		return snprintf(buf, size, "[%s]:%u", ip, os_addr_port(addr));
	}
	if (size)
		buf[0] = '\0';
	return -EAFNOSUPPORT;
}
