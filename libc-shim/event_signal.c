/*
 * event_signal.c: os_signal (include/kiln/os.h): signals as loop callbacks.
 *
 * The signals being watched are blocked in the loop's thread (threads it creates afterwards
 * inherit that) and read from one signalfd that the loop watches like any descriptor, so a
 * callback runs from the loop, between other callbacks, never in signal context: it may do
 * anything a callback may. The signalfd's mask is widened or narrowed as signals are watched
 * and released. A watch does not keep the loop alive (as Node.js's process.on('SIGTERM')).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../include/kiln/os.h"
#include "event_internal.h"

#define KILN_NSIG 65

static struct {
	os_signal_cb callback;
	void *arg;
} watched[KILN_NSIG];

static struct kiln_watch signal_watch = {.fd = -1};
static sigset_t watched_set;

static void on_signals(struct kiln_watch *w, uint32_t events)
{
	(void)events;
	struct signalfd_siginfo info[16];
	for (;;) {
		ssize_t n = read(w->fd, info, sizeof info);
		if (n <= 0)
			return; /* EAGAIN: all read (the fd is non-blocking) */
		for (size_t i = 0; i < (size_t)n / sizeof info[0]; i++) {
			if (__kiln_loop_stopping())
				return;
			int sig = (int)info[i].ssi_signo;
			if (sig > 0 && sig < KILN_NSIG && watched[sig].callback)
				watched[sig].callback(sig, watched[sig].arg);
		}
	}
}

/* Signals a program cannot usefully take from the loop: the faults (a blocked fault signal
 * ends the program), SIGKILL and SIGSTOP, and the three musl keeps for itself. */
static bool watchable(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP: case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL:
	case SIGTRAP: case SIGSYS:
		return false;
	default:
		return sig >= 1 && sig < KILN_NSIG && (sig < 32 || sig >= SIGRTMIN);
	}
}

int os_signal(int sig, os_signal_cb callback, void *arg)
{
	if (!watchable(sig) || !__kiln_loop_running())
		return -EINVAL;
	int rc = __kiln_loop_init();
	if (rc < 0)
		return rc;
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (!callback) {
		if (!watched[sig].callback)
			return 0;
		watched[sig].callback = NULL;
		watched[sig].arg = NULL;
		sigdelset(&watched_set, sig);
		if (signal_watch.fd >= 0 && signalfd(signal_watch.fd, &watched_set, 0) < 0)
			return -errno;
		/* Delivered as the program's disposition says from now on. */
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		return 0;
	}
	sigset_t wider = watched_set;
	sigaddset(&wider, sig);
	/* Blocked first, so that none arrives in between with its default action. */
	pthread_sigmask(SIG_BLOCK, &one, NULL);
	if (signal_watch.fd < 0) {
		int fd = signalfd(-1, &wider, SFD_NONBLOCK | SFD_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			goto fail;
		}
		signal_watch.fd = fd;
		signal_watch.on_events = on_signals;
		rc = __kiln_watch_set(&signal_watch, EPOLLIN);
		if (rc < 0) {
			close(fd);
			signal_watch.fd = -1;
			goto fail;
		}
	} else if (signalfd(signal_watch.fd, &wider, 0) < 0) {
		rc = -errno;
		goto fail;
	}
	watched_set = wider;
	watched[sig].callback = callback;
	watched[sig].arg = arg;
	return 0;
fail:
	if (!watched[sig].callback)
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	return rc;
}
