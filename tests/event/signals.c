/*
 * signals.c: os_signal, signals as loop callbacks.
 *  - SIGUSR1 raised twice in OS_start: the callback runs once (merged), after OS_start
 *    returned, from the loop (never inside raise());
 *  - two SIGRTMIN+1 from sigqueue: two calls, in order;
 *  - a thread started after os_signal inherits the block: its own kill() of the process
 *    reaches the callback, not the signal's default action;
 *  - replacing a callback, stopping a watch (the signal's disposition applies again: here a
 *    handler), and the signals a program cannot watch (-EINVAL);
 *  - SIGTERM from a timer: its callback checks and calls os_shutdown(0), the way a server
 *    stops gracefully. A watch alone does not keep the loop alive (os_hold does here).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include <kiln/os.h>

#include "check.h"

static bool in_start, usr1_in_start, replaced_ran;
static int usr1_calls, rt_calls, thread_calls, old_calls, handler_calls;
static int usr1_arg = 7;

static void on_usr1(int sig, void *arg)
{
	usr1_calls++;
	usr1_in_start = usr1_in_start || in_start;
	(void)sig;
	(void)arg;
}

static void on_rt(int sig, void *arg)
{
	(void)arg;
	if (sig == SIGRTMIN + 1)
		rt_calls++;
}

static void on_thread_signal(int sig, void *arg)
{
	(void)sig;
	(void)arg;
	thread_calls++;
}

static void old_callback(int sig, void *arg)
{
	(void)sig;
	(void)arg;
	old_calls++;
}

static void new_callback(int sig, void *arg)
{
	(void)sig;
	(void)arg;
	replaced_ran = true;
}

static void plain_handler(int sig)
{
	(void)sig;
	handler_calls++;
}

static void *sender(void *arg)
{
	(void)arg;
	kill(getpid(), SIGUSR2);
	return NULL;
}

static void on_term(int sig, void *arg)
{
	(void)arg;
	CHECK("SIGTERM reaches its callback", sig == SIGTERM, "%d", sig);
	CHECK("SIGUSR1 raised twice: one call, from the loop", usr1_calls == 1 && !usr1_in_start,
	      "%d calls, in OS_start %d", usr1_calls, usr1_in_start);
	CHECK("two queued real-time signals: two calls", rt_calls == 2, "%d", rt_calls);
	CHECK("a signal sent by a later thread reaches the loop", thread_calls == 1, "%d",
	      thread_calls);
	CHECK("a replaced callback is not called", old_calls == 0 && replaced_ran, "%d %d",
	      old_calls, replaced_ran);
	CHECK("a stopped watch gives the signal back to its handler", handler_calls == 1, "%d",
	      handler_calls);
	int rc = check_status();
	os_release();
	os_shutdown(rc);
}

static void on_timer(os_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	/* Watch SIGURG, stop watching it: its handler (installed before) runs again. */
	raise(SIGURG);
	kill(getpid(), SIGTERM);
}

void OS_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	in_start = true;
	CHECK("SIGKILL cannot be watched", os_signal(SIGKILL, on_usr1, NULL) == -EINVAL, "accepted");
	CHECK("SIGSEGV cannot be watched", os_signal(SIGSEGV, on_usr1, NULL) == -EINVAL, "accepted");
	CHECK("signal 0 and 65 are refused",
	      os_signal(0, on_usr1, NULL) == -EINVAL && os_signal(65, on_usr1, NULL) == -EINVAL,
	      "accepted");
	CHECK("musl's own signals are refused", os_signal(33, on_usr1, NULL) == -EINVAL,
	      "accepted");
	CHECK("os_signal(SIGUSR1)", os_signal(SIGUSR1, on_usr1, &usr1_arg) == 0, "failed");
	raise(SIGUSR1);
	raise(SIGUSR1);
	CHECK("raise returned before any callback", usr1_calls == 0, "%d", usr1_calls);

	os_signal(SIGRTMIN + 1, on_rt, NULL);
	union sigval v = {.sival_int = 1};
	sigqueue(getpid(), SIGRTMIN + 1, v);
	sigqueue(getpid(), SIGRTMIN + 1, v);

	os_signal(SIGUSR2, on_thread_signal, NULL);
	pthread_t t;
	pthread_create(&t, NULL, sender, NULL);
	pthread_join(t, NULL);

	os_signal(SIGHUP, old_callback, NULL);
	os_signal(SIGHUP, new_callback, NULL);
	raise(SIGHUP);

	signal(SIGURG, plain_handler);
	os_signal(SIGURG, old_callback, NULL);
	os_signal(SIGURG, NULL, NULL);

	os_signal(SIGTERM, on_term, NULL);
	os_timer_start(NULL, 50, 0, on_timer, NULL);
	os_hold(); /* released by on_term */
	in_start = false;
}
