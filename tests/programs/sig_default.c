/* Default actions: each case (the argument) ends the program with a signal as Linux would —
 * the exit status is 128 + the signal — or shows that the signal is ignored. Also a fault
 * whose signal is blocked (fatal despite a handler), a signal to a thread that ends the whole
 * program, and a timer's signal ending a thread that computes without syscalls. Compared with
 * Linux by tests/diff.rs, case by case. */
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void unreachable_handler(int sig)
{
	(void)sig;
	printf("handler ran\n");
}

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	printf("case %s\n", c);
	fflush(stdout);
	if (!strcmp(c, "term")) {
		kill(getpid(), SIGTERM);
	} else if (!strcmp(c, "int")) {
		raise(SIGINT);
	} else if (!strcmp(c, "hup")) {
		raise(SIGHUP);
	} else if (!strcmp(c, "usr1")) {
		raise(SIGUSR1);
	} else if (!strcmp(c, "quit")) {
		raise(SIGQUIT);
	} else if (!strcmp(c, "segv")) {
		kill(getpid(), SIGSEGV);
	} else if (!strcmp(c, "kill")) {
		raise(SIGKILL);
	} else if (!strcmp(c, "rt")) {
		raise(SIGRTMIN + 2);
	} else if (!strcmp(c, "abort")) {
		abort();
	} else if (!strcmp(c, "alarm")) {
		alarm(1);
		pause();
	} else if (!strcmp(c, "pipe")) {
		int p[2];
		pipe(p);
		close(p[0]);
		write(p[1], "x", 1);
	} else if (!strcmp(c, "unix_pipe")) {
		/* A stream socket whose peer is gone: SIGPIPE ends the program too. */
		int u[2];
		socketpair(AF_UNIX, SOCK_STREAM, 0, u);
		close(u[1]);
		write(u[0], "x", 1);
	} else if (!strcmp(c, "tcp_pipe")) {
		struct sockaddr_in a;
		socklen_t len = sizeof a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int l = socket(AF_INET, SOCK_STREAM, 0);
		bind(l, (struct sockaddr *)&a, sizeof a);
		listen(l, 1);
		getsockname(l, (struct sockaddr *)&a, &len);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
			printf("connect failed\n");
		shutdown(s, SHUT_WR);
		send(s, "x", 1, 0);
	} else if (!strcmp(c, "pipe_ignored")) {
		int p[2];
		pipe(p);
		close(p[0]);
		signal(SIGPIPE, SIG_IGN);
		printf("write: %s\n", write(p[1], "x", 1) < 0 && errno == EPIPE ? "EPIPE" : "?");
		return 0;
	} else if (!strcmp(c, "ignored")) {
		/* Ignored by default: nothing happens. */
		raise(SIGCHLD);
		raise(SIGWINCH);
		raise(SIGURG);
		raise(SIGCONT);
		printf("still here\n");
		return 0;
	} else if (!strcmp(c, "blocked_fault")) {
		/* A fault whose signal is blocked kills even with a handler installed. */
		signal(SIGSEGV, unreachable_handler);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		sigprocmask(SIG_BLOCK, &set, NULL);
		printf("%d\n", *(volatile int *)0);
	} else if (!strcmp(c, "thread")) {
		/* SIGTERM to one thread ends the whole program. */
		pthread_t t;
		pthread_create(&t, NULL, idle, NULL);
		pthread_kill(t, SIGTERM);
		pthread_join(t, NULL);
	} else if (!strcmp(c, "spin")) {
		/* The timer's SIGALRM reaches a thread that makes no syscalls. */
		struct itimerval it = {{0, 0}, {0, 100000}};
		setitimer(ITIMER_REAL, &it, NULL);
		for (volatile unsigned long i = 0;; i++)
			;
	}
	printf("not ended\n");
	return 3;
}
