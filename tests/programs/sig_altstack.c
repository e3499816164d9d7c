/* sigaltstack: a SIGSEGV handler with SA_ONSTACK catches a stack overflow on the alternate
 * stack and siglongjmps out; handlers run on the alternate stack only with SA_ONSTACK;
 * sigaltstack reports SS_ONSTACK inside such a handler and refuses changes there (EPERM);
 * bad sizes are ENOMEM; a new thread starts without one. Compared with Linux by
 * tests/diff.rs. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *alt;
static size_t alt_size = 64 * 1024;
static sigjmp_buf env;
static volatile int on_alt, reported_onstack, change_refused, caught;

static int within_alt(const void *p)
{
	return (const char *)p >= alt && (const char *)p < alt + alt_size;
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	(void)ctx;
	int local;
	stack_t cur;
	caught++;
	on_alt = within_alt(&local);
	sigaltstack(NULL, &cur);
	reported_onstack = cur.ss_flags == SS_ONSTACK;
	stack_t other = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0};
	change_refused = sigaltstack(&other, NULL) < 0 && errno == EPERM;
	siglongjmp(env, 1);
}

static volatile int where;
static void on_usr(int sig)
{
	int local;
	(void)sig;
	where = within_alt(&local) ? 2 : 1;
}

/* Recurses until the stack runs out. */
__attribute__((noinline)) static int deep(int n)
{
	volatile char big[4096];
	big[0] = (char)n;
	big[4095] = (char)n;
	return deep(n + 1) + big[0] + big[4095];
}

static void *thread_main(void *arg)
{
	(void)arg;
	stack_t cur;
	sigaltstack(NULL, &cur);
	printf("new thread: alternate stack disabled %d\n", cur.ss_flags == SS_DISABLE);
	return NULL;
}

int main(void)
{
	stack_t ss, cur;

	sigaltstack(NULL, &cur);
	printf("at start: disabled %d\n", cur.ss_flags == SS_DISABLE);
	alt = malloc(alt_size);
	ss.ss_sp = alt;
	ss.ss_size = 1000;
	ss.ss_flags = 0;
	printf("too small: %s\n", sigaltstack(&ss, NULL) < 0 && errno == ENOMEM ? "ENOMEM" : "?");
	ss.ss_flags = 12345;
	ss.ss_size = alt_size;
	printf("bad flags: %s\n", sigaltstack(&ss, NULL) < 0 && errno == EINVAL ? "EINVAL" : "?");
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0)
		perror("sigaltstack");
	sigaltstack(NULL, &cur);
	printf("set: flags %d size ok %d\n", cur.ss_flags, cur.ss_size == alt_size && cur.ss_sp == alt);

	/* Without SA_ONSTACK a handler runs on the normal stack; with it, on the other. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	printf("SIGUSR1 without SA_ONSTACK: %s stack\n", where == 2 ? "alternate" : "normal");
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	printf("SIGUSR1 with SA_ONSTACK: %s stack\n", where == 2 ? "alternate" : "normal");

	/* Stack overflow: only a handler on the alternate stack can run. */
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(env, 1) == 0)
		printf("deep %d?\n", deep(0));
	printf("overflow: caught %d on the alternate stack %d SS_ONSTACK %d change refused %d\n",
	       caught, on_alt, reported_onstack, change_refused);
	sigaltstack(NULL, &cur);
	printf("after siglongjmp: flags %d\n", cur.ss_flags);

	/* Again: the handler and the alternate stack work a second time. */
	if (sigsetjmp(env, 1) == 0)
		printf("deep %d?\n", deep(0));
	printf("second overflow: caught %d\n", caught);

	pthread_t t;
	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, NULL);

	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	sigaltstack(NULL, &cur);
	printf("disabled again: %d\n", cur.ss_flags == SS_DISABLE);
	printf("done\n");
	return 0;
}
