/* Signals and threads: each thread has its own mask and pending set (a thread-directed
 * signal stays pending for its thread only), pthread_kill reaches one thread, a
 * process-directed signal goes to a thread that does not block it, sigwait in a dedicated
 * thread takes the signals every other thread blocks, and a new thread inherits its
 * creator's mask. Compared with Linux by tests/diff.rs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_t main_thread, worker;
static volatile int handled_in; /* 1 main, 2 worker */
static pthread_barrier_t start, printed, checked, finish;

static void on_usr1(int sig)
{
	(void)sig;
	handled_in = pthread_equal(pthread_self(), main_thread) ? 1 : 2;
}

static int blocked(int sig)
{
	sigset_t now;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	return sigismember(&now, sig);
}

static int pending(int sig)
{
	sigset_t p;
	sigpending(&p);
	return sigismember(&p, sig);
}

static void *worker_main(void *arg)
{
	(void)arg;
	/* Inherited from the creator: SIGUSR2 blocked. */
	printf("worker: inherits SIGUSR2 blocked %d\n", blocked(SIGUSR2));
	pthread_barrier_wait(&start);
	pthread_barrier_wait(&printed);
	/* The main thread sent SIGUSR2 to itself while blocked: not pending here. */
	printf("worker: main's SIGUSR2 pending here %d\n", pending(SIGUSR2));
	pthread_barrier_wait(&checked);
	/* Now the worker unblocks SIGUSR1 while main blocks it: kill() must come here. */
	pthread_barrier_wait(&finish);
	return NULL;
}

static int waited_sig[4], nwaited;
static void *waiter_main(void *arg)
{
	sigset_t *set = arg;
	for (int i = 0; i < 3; i++) {
		int sig;
		if (sigwait(set, &sig) == 0)
			waited_sig[nwaited++] = sig;
	}
	return NULL;
}

int main(void)
{
	sigset_t set;
	main_thread = pthread_self();
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr1);
	pthread_barrier_init(&start, NULL, 2);
	pthread_barrier_init(&printed, NULL, 2);
	pthread_barrier_init(&checked, NULL, 2);
	pthread_barrier_init(&finish, NULL, 2);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&worker, NULL, worker_main, NULL);
	raise(SIGUSR2); /* pending for the main thread only */
	pthread_barrier_wait(&start);
	printf("main: SIGUSR2 pending here %d\n", pending(SIGUSR2));
	pthread_barrier_wait(&printed);
	pthread_barrier_wait(&checked);

	/* pthread_kill to the worker: its handler runs there. */
	handled_in = 0;
	pthread_kill(worker, SIGUSR1);
	while (!handled_in)
		sched_yield();
	printf("pthread_kill: handled in %s\n", handled_in == 2 ? "worker" : "main");

	/* Main blocks SIGUSR1: a process-directed SIGUSR1 goes to the worker. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	handled_in = 0;
	kill(getpid(), SIGUSR1);
	while (!handled_in)
		sched_yield();
	printf("kill with main blocking: handled in %s\n", handled_in == 2 ? "worker" : "main");
	pthread_barrier_wait(&finish);
	pthread_join(worker, NULL);

	/* The worker is gone; SIGUSR1 stays pending for the process until main unblocks it. */
	handled_in = 0;
	kill(getpid(), SIGUSR1);
	printf("no taker: pending %d handled %d\n", pending(SIGUSR1), handled_in);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	printf("after unblocking: handled in %s\n", handled_in == 1 ? "main" : "?");

	/* Unblocking SIGUSR2 delivers the thread-directed one still pending for main. */
	handled_in = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	printf("main's own SIGUSR2: handled in %s\n", handled_in == 1 ? "main" : "?");

	/* sigwait in a dedicated thread: every thread blocks the set, the waiter takes them. */
	static sigset_t wait_set;
	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGHUP);
	sigaddset(&wait_set, SIGTERM);
	sigaddset(&wait_set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &wait_set, NULL);
	pthread_t waiter;
	pthread_create(&waiter, NULL, waiter_main, &wait_set);
	kill(getpid(), SIGHUP);
	usleep(20000);
	kill(getpid(), SIGTERM);
	usleep(20000);
	alarm(1);
	pthread_join(waiter, NULL);
	printf("sigwait thread: %d signals:", nwaited);
	for (int i = 0; i < nwaited; i++)
		printf(" %s", waited_sig[i] == SIGHUP ? "SIGHUP"
			      : waited_sig[i] == SIGTERM ? "SIGTERM"
			      : waited_sig[i] == SIGALRM ? "SIGALRM" : "?");
	printf("\n");
	printf("done\n");
	return 0;
}
