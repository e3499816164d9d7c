/* bench/echo-server.c: a UDP and TCP echo server for comparing guests (Kiln, the Linux guest
 * of bench/linux-guest/, the host). Plain POSIX: sockets and one poll loop, single-threaded.
 *
 * Usage: echo-server [PORT]   (default 7)
 * Listens on PORT over UDP and TCP, IPv4 (0.0.0.0) and IPv6 (::, IPV6_V6ONLY) where the
 * system has it; echoes every datagram to its sender and every TCP byte to its connection
 * (up to 64 connections at once). A datagram or a TCP read that is exactly "quit" or
 * "quit\n" ends the server with status 0, so a client can end the VM. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 72

static struct pollfd fds[MAX_FDS];
static int kinds[MAX_FDS]; /* 'u' UDP, 'l' TCP listener, 'c' TCP connection */
static int nfds;

static void add(int fd, int kind)
{
	fds[nfds].fd = fd;
	fds[nfds].events = POLLIN;
	kinds[nfds] = kind;
	nfds++;
}

static int is_quit(const char *buf, ssize_t n)
{
	return (n == 4 && memcmp(buf, "quit", 4) == 0) || (n == 5 && memcmp(buf, "quit\n", 5) == 0);
}

/* Opens and binds one socket; -1 (with a message unless the family is missing) on failure. */
static int open_bound(int family, int type, int port)
{
	int fd = socket(family, type, 0);
	if (fd < 0) {
		if (errno != EAFNOSUPPORT)
			perror("echo-server: socket");
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((unsigned short)port);
		a->sin6_addr = in6addr_any;
		len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((unsigned short)port);
		a->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof *a;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) != 0)) {
		perror(family == AF_INET6 ? "echo-server: bind/listen (IPv6)" : "echo-server: bind/listen");
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *buf, ssize_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, (size_t)n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 7;
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: echo-server [PORT]\n");
		return 2;
	}
	int families[] = {AF_INET, AF_INET6};
	for (int i = 0; i < 2; i++) {
		int u = open_bound(families[i], SOCK_DGRAM, port);
		int t = open_bound(families[i], SOCK_STREAM, port);
		if (u >= 0)
			add(u, 'u');
		if (t >= 0)
			add(t, 'l');
	}
	if (nfds == 0)
		return 1;
	printf("echo-server: listening on port %d (udp, tcp)\n", port);
	fflush(stdout);

	static char buf[65536];
	for (;;) {
		if (poll(fds, (nfds_t)nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("echo-server: poll");
			return 1;
		}
		for (int i = 0; i < nfds; i++) {
			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (kinds[i] == 'u') {
				struct sockaddr_storage from;
				socklen_t fromlen = sizeof from;
				ssize_t n = recvfrom(fds[i].fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
				if (n < 0)
					continue;
				if (is_quit(buf, n))
					return 0;
				sendto(fds[i].fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fromlen);
			} else if (kinds[i] == 'l') {
				int c = accept(fds[i].fd, NULL, NULL);
				if (c < 0)
					continue;
				if (nfds == MAX_FDS)
					close(c);
				else
					add(c, 'c');
			} else {
				ssize_t n = read(fds[i].fd, buf, sizeof buf);
				if (n > 0 && is_quit(buf, n))
					return 0;
				if (n <= 0 || write_all(fds[i].fd, buf, n) != 0) {
					close(fds[i].fd);
					fds[i] = fds[nfds - 1];
					kinds[i] = kinds[nfds - 1];
					nfds--;
					i--;
				}
			}
		}
	}
}
