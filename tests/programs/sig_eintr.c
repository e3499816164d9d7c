/* Blocking calls interrupted by a handled signal, per Linux's rules: read on a pipe and
 * accept fail with EINTR without SA_RESTART and are restarted with it; nanosleep fails with
 * EINTR either way and reports the time left; epoll_wait and poll always fail with EINTR; a
 * blocked or ignored signal interrupts nothing; sleep() returns the seconds left. The signal
 * comes from a one-shot ITIMER_REAL timer. Compared with Linux by tests/diff.rs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int fired;
static int pipe_w = -1;
static struct sockaddr_in listen_addr;

static void on_alarm(int sig)
{
	(void)sig;
	fired++;
	if (pipe_w >= 0) {
		/* Lets a restarted read finish. */
		write(pipe_w, "x", 1);
	}
	if (listen_addr.sin_port) {
		/* Lets a restarted accept finish. */
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(c, (struct sockaddr *)&listen_addr, sizeof listen_addr);
	}
}

static void handler(int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

static void alarm_in_ms(long ms)
{
	struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static const char *err(int r)
{
	if (r >= 0)
		return "ok";
	return errno == EINTR ? "EINTR" : strerror(errno);
}

int main(void)
{
	int p[2];
	char c;
	ssize_t n;

	/* read on an empty pipe */
	pipe(p);
	handler(0);
	fired = 0;
	alarm_in_ms(100);
	n = read(p[0], &c, 1);
	printf("pipe read, no SA_RESTART: %s (handler ran %d)\n", err(n), fired);
	handler(1);
	pipe_w = p[1];
	fired = 0;
	alarm_in_ms(100);
	n = read(p[0], &c, 1);
	printf("pipe read, SA_RESTART: %s %zd byte '%c' (handler ran %d)\n", err(n), n, n == 1 ? c : '-',
	       fired);
	pipe_w = -1;

	/* accept on a listening socket with nothing to accept */
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	bind(l, (struct sockaddr *)&a, sizeof a);
	listen(l, 4);
	getsockname(l, (struct sockaddr *)&a, &alen);
	handler(0);
	fired = 0;
	alarm_in_ms(100);
	int s = accept(l, NULL, NULL);
	printf("accept, no SA_RESTART: %s (handler ran %d)\n", err(s), fired);
	handler(1);
	listen_addr = a;
	fired = 0;
	alarm_in_ms(100);
	s = accept(l, NULL, NULL);
	printf("accept, SA_RESTART: %s (handler ran %d)\n", s >= 0 ? "a connection" : err(s), fired);
	listen_addr.sin_port = 0;

	/* nanosleep: EINTR even with SA_RESTART, and the time left */
	for (int restart = 0; restart < 2; restart++) {
		handler(restart);
		fired = 0;
		alarm_in_ms(200);
		struct timespec req = {2, 0}, rem = {0, 0};
		int r = nanosleep(&req, &rem);
		printf("nanosleep(2 s)%s: %s, left between 1.0 and 1.9 s: %d\n",
		       restart ? " SA_RESTART" : "", err(r),
		       rem.tv_sec == 1 ? rem.tv_nsec < 900000000 : rem.tv_sec == 0 ? 0 : 0);
	}

	/* sleep() returns the seconds left */
	handler(1);
	alarm(1);
	unsigned left = sleep(3);
	/* 2 s left, give or take the kernel's timer slack: musl truncates to 1 or 2. */
	printf("sleep(3) interrupted after 1 s: 1 or 2 s left %d\n", left == 1 || left == 2);

	/* epoll_wait and poll: EINTR whatever SA_RESTART says */
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	handler(1);
	fired = 0;
	alarm_in_ms(100);
	int r = epoll_wait(ep, &ev, 1, -1);
	printf("epoll_wait, SA_RESTART: %s (handler ran %d)\n", err(r), fired);
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	alarm_in_ms(100);
	r = poll(&pfd, 1, 5000);
	printf("poll, SA_RESTART: %s\n", err(r));

	/* A blocked signal interrupts nothing: the timeout passes, then the handler runs. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fired = 0;
	alarm_in_ms(50);
	r = poll(&pfd, 1, 300);
	printf("poll with SIGALRM blocked: %d (handler ran %d)\n", r, fired);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	printf("unblocked: handler ran %d\n", fired);

	/* An ignored signal interrupts nothing either. */
	signal(SIGALRM, SIG_IGN);
	alarm_in_ms(50);
	r = poll(&pfd, 1, 300);
	printf("poll with SIGALRM ignored: %d\n", r);

	/* ppoll with a mask that unblocks SIGALRM while it waits. */
	handler(0);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fired = 0;
	alarm_in_ms(50);
	sigset_t none;
	sigemptyset(&none);
	struct timespec five = {5, 0};
	r = ppoll(&pfd, 1, &five, &none);
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	printf("ppoll unblocking SIGALRM: %s (handler ran %d) blocked again %d\n", err(r), fired,
	       sigismember(&now, SIGALRM));
	printf("done\n");
	return 0;
}
