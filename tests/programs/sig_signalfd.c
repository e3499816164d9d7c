/* signalfd: blocked signals read as struct signalfd_siginfo, in epoll (level and edge
 * triggered), woken by a signal from another thread and by an interval timer; several per
 * read in Linux's order; a blocking read; changing the mask; the errors. Compared with Linux
 * by tests/diff.rs. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <unistd.h>

static const char *code(int c)
{
	switch (c) {
	case SI_USER: return "SI_USER";
	case SI_TKILL: return "SI_TKILL";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_KERNEL: return "SI_KERNEL";
	default: return "?";
	}
}

static void *sender(void *arg)
{
	(void)arg;
	usleep(50000);
	kill(getpid(), SIGUSR1);
	return NULL;
}

int main(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGRTMIN);
	sigaddset(&mask, SIGALRM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1}, out[4];
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);

	struct signalfd_siginfo si[4];
	printf("nothing pending: epoll %d read %s\n", epoll_wait(ep, out, 4, 0),
	       read(fd, si, sizeof si) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
	printf("small buffer: %s\n", read(fd, si, 10) < 0 && errno == EINVAL ? "EINVAL" : "?");

	raise(SIGUSR1);
	int n = epoll_wait(ep, out, 4, 1000);
	printf("after raise: epoll %d events %#x\n", n, n > 0 ? out[0].events : 0);
	ssize_t r = read(fd, si, sizeof si);
	printf("read %zd bytes: signo %u code %s pid ok %d\n", r, si[0].ssi_signo,
	       code(si[0].ssi_code), si[0].ssi_pid == (unsigned)getpid());
	printf("level drops: epoll %d\n", epoll_wait(ep, out, 4, 0));

	/* Several in one read, standard before real-time, queued values kept. */
	union sigval v = {.sival_int = 5};
	sigqueue(getpid(), SIGRTMIN, v);
	v.sival_int = 6;
	sigqueue(getpid(), SIGRTMIN, v);
	kill(getpid(), SIGUSR2);
	r = read(fd, si, sizeof si);
	printf("read %zd bytes:", r);
	for (int i = 0; i < r / (ssize_t)sizeof si[0]; i++)
		printf(" %s/%s/%d", si[i].ssi_signo == SIGUSR2 ? "SIGUSR2" : "SIGRTMIN",
		       code(si[i].ssi_code), si[i].ssi_int);
	printf("\n");

	/* Woken in epoll_wait by a signal another thread sends. */
	pthread_t t;
	pthread_create(&t, NULL, sender, NULL);
	n = epoll_wait(ep, out, 4, 5000);
	r = read(fd, si, sizeof si);
	printf("from a thread: epoll %d, read signo %u code %s\n", n, r > 0 ? si[0].ssi_signo : 0,
	       code(si[0].ssi_code));
	pthread_join(t, NULL);

	/* An interval timer's SIGALRM through signalfd. */
	struct itimerval it = {{0, 0}, {0, 30000}};
	setitimer(ITIMER_REAL, &it, NULL);
	n = epoll_wait(ep, out, 4, 5000);
	r = read(fd, si, sizeof si);
	printf("timer: epoll %d signo %u code %s\n", n, si[0].ssi_signo, code(si[0].ssi_code));

	/* Edge-triggered: one report per new signal. */
	ev.events = EPOLLIN | EPOLLET;
	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
	raise(SIGUSR1);
	int first = epoll_wait(ep, out, 4, 1000);
	int again = epoll_wait(ep, out, 4, 0);
	raise(SIGUSR2);
	int newer = epoll_wait(ep, out, 4, 1000);
	r = read(fd, si, sizeof si);
	printf("edge-triggered: %d then %d, a new signal %d; read %zd bytes\n", first, again, newer, r);

	/* Changing the mask: SIGUSR2 no longer reads. */
	sigset_t only1;
	sigemptyset(&only1);
	sigaddset(&only1, SIGUSR1);
	printf("new mask: same fd %d\n", signalfd(fd, &only1, 0) == fd);
	raise(SIGUSR2);
	printf("SIGUSR2 outside the mask: read %s\n",
	       read(fd, si, sizeof si) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
	struct timespec zero = {0, 0};
	sigset_t u2;
	sigemptyset(&u2);
	sigaddset(&u2, SIGUSR2);
	printf("still pending for sigtimedwait: %d\n", sigtimedwait(&u2, NULL, &zero) == SIGUSR2);

	/* A blocking signalfd read waits for the signal. */
	int bfd = signalfd(-1, &only1, 0);
	pthread_create(&t, NULL, sender, NULL);
	r = read(bfd, si, sizeof si);
	printf("blocking read: %zd bytes signo %u\n", r, si[0].ssi_signo);
	pthread_join(t, NULL);
	printf("not a signalfd: %s\n", signalfd(ep, &mask, 0) < 0 && errno == EINVAL ? "EINVAL" : "?");
	printf("bad flags: %s\n", signalfd(-1, &mask, 0x1234) < 0 && errno == EINVAL ? "EINVAL" : "?");
	printf("done\n");
	return 0;
}
