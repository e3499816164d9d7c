/*
 * epoll-http.c: the baseline for bench/event-http.sh — a plain single-threaded epoll HTTP
 * server with its own main(), no event API. Answers every request (GET /hello is all the
 * benchmark sends) with the same bytes as examples-cpp/http-callback's /hello, keep-alive,
 * pipelining allowed. Listens on 127.0.0.1:$PORT (default 8081).
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char response[] = "HTTP/1.1 200 OK\r\nServer: kiln-http-callback\r\n"
                               "Content-Type: text/plain\r\nContent-Length: 17\r\n"
                               "Connection: keep-alive\r\n\r\nHello from Kiln!\n";

struct conn {
	int fd;
	size_t used;
	char in[4096];
};

int main(void)
{
	const char *env = getenv("PORT");
	int port = env ? atoi(env) : 8081;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int on = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 1024) < 0) {
		perror("epoll-http: bind/listen");
		return 1;
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("listening on 127.0.0.1:%d\n", port);
	fflush(stdout);
	struct epoll_event events[64];
	for (;;) {
		int n = epoll_wait(ep, events, 64, -1);
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
					c = calloc(1, sizeof *c);
					c->fd = fd;
					struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				}
				continue;
			}
			ssize_t got = read(c->fd, c->in + c->used, sizeof c->in - c->used);
			if (got <= 0) {
				if (got < 0 && errno == EAGAIN)
					continue;
				close(c->fd);
				free(c);
				continue;
			}
			c->used += (size_t)got;
			char *start = c->in, *end;
			while ((end = memmem(start, c->used - (size_t)(start - c->in), "\r\n\r\n", 4))) {
				/* Responses are small: a full socket buffer here would be a broken client. */
				if (write(c->fd, response, sizeof response - 1) < 0)
					break;
				start = end + 4;
			}
			c->used -= (size_t)(start - c->in);
			memmove(c->in, start, c->used);
			if (c->used == sizeof c->in) { /* no request fits: drop the client */
				close(c->fd);
				free(c);
			}
		}
	}
}
