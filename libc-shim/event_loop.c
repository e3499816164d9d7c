/*
 * event_loop.c: the event loop behind OS_start() and os_shutdown() (include/kiln/os.h).
 *
 * Kept apart from default_main.c on purpose: a program with its own main() may still call
 * os_shutdown(), and linking that must not pull in the default main() and its reference to
 * OS_start. Timers, sockets and posts live in event_*.c and reach the loop only through the
 * watches of event_internal.h, so this file names none of them.
 *
 * One iteration: run the deferred functions queued so far, stop if os_shutdown() was called
 * or nothing is pending, then wait in epoll_wait (without timeout when nothing is deferred:
 * timers are a timerfd, so an idle loop sleeps — a halted CPU in a Kiln guest) and dispatch
 * the ready watches. The loop ends the moment os_shutdown() was called, between callbacks.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../include/kiln/os.h"
#include "event_internal.h"

int __kiln_run_event_loop(void (*start)(void));
void __kiln_set_args(int argc, char **argv);

static atomic_bool loop_running;
static atomic_bool shutdown_requested;
static atomic_int shutdown_status;
static atomic_int active_sources;
static atomic_int wake_fd = -1;
static int epoll_fd = -1;
static struct kiln_watch wake_watch;
static struct kiln_watch *deferred_head, *deferred_tail;

void (*_Atomic __kiln_post_drain)(void);
bool (*_Atomic __kiln_posts_pending)(void);

/* main()'s arguments as the default main() passed them on (os_args); 0/NULL otherwise. */
static int program_argc;
static char **program_argv;

void __kiln_set_args(int argc, char **argv)
{
	program_argc = argc;
	program_argv = argv;
}

char **os_args(int *argc)
{
	if (argc)
		*argc = program_argc;
	return program_argv;
}

void os_shutdown(int status)
{
	if (!atomic_load(&loop_running))
		exit(status);
	atomic_store(&shutdown_status, status);
	atomic_store(&shutdown_requested, true);
	__kiln_loop_wake();
}

uint64_t os_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t os_now_ms(void)
{
	return os_now_ns() / 1000000u;
}

bool __kiln_loop_stopping(void)
{
	return atomic_load(&shutdown_requested);
}

bool __kiln_loop_running(void)
{
	return atomic_load(&loop_running);
}

void __kiln_ref(void)
{
	atomic_fetch_add(&active_sources, 1);
}

void __kiln_unref(void)
{
	atomic_fetch_sub(&active_sources, 1);
}

void os_hold(void)
{
	__kiln_ref();
}

void os_release(void)
{
	__kiln_unref();
	__kiln_loop_wake();
}

void __kiln_loop_wake(void)
{
	int fd = atomic_load(&wake_fd);
	uint64_t one = 1;
	/* A full counter (EAGAIN) already means "wake up"; nothing else can fail here. */
	if (fd >= 0 && write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
		fprintf(stderr, "kiln: event loop wake-up failed: %s\n", strerror(errno));
}

static void on_wake(struct kiln_watch *w, uint32_t events)
{
	(void)events;
	uint64_t count;
	/* Drain first, then run posts: a post queued after the drain writes the eventfd again. */
	while (read(w->fd, &count, sizeof count) > 0)
		;
	void (*drain)(void) = atomic_load(&__kiln_post_drain);
	if (drain)
		drain();
}

int __kiln_loop_init(void)
{
	if (epoll_fd >= 0)
		return 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wake < 0) {
		int err = errno;
		close(ep);
		return -err;
	}
	epoll_fd = ep;
	wake_watch.fd = wake;
	wake_watch.on_events = on_wake;
	int rc = __kiln_watch_set(&wake_watch, EPOLLIN);
	if (rc < 0) {
		close(wake);
		close(ep);
		epoll_fd = -1;
		return rc;
	}
	atomic_store(&wake_fd, wake);
	return 0;
}

int __kiln_watch_set(struct kiln_watch *w, uint32_t events)
{
	if (w->registered && w->events == events)
		return 0;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(epoll_fd, w->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	w->registered = true;
	w->events = events;
	return 0;
}

void __kiln_watch_remove(struct kiln_watch *w)
{
	if (!w->registered)
		return;
	/* Fails only for a descriptor epoll does not know, which then has nothing to remove. */
	epoll_ctl(epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
	w->registered = false;
	w->events = 0;
}

void __kiln_defer(struct kiln_watch *w)
{
	if (w->deferred)
		return;
	w->deferred = true;
	w->next_deferred = NULL;
	if (deferred_tail)
		deferred_tail->next_deferred = w;
	else
		deferred_head = w;
	deferred_tail = w;
}

/* Runs what was deferred before this call; what those functions defer runs next time. */
static void run_deferred(void)
{
	struct kiln_watch *w = deferred_head;
	deferred_head = deferred_tail = NULL;
	while (w && !atomic_load(&shutdown_requested)) {
		struct kiln_watch *next = w->next_deferred;
		w->deferred = false;
		w->on_deferred(w); /* may free w */
		w = next;
	}
	/* After os_shutdown the rest is dropped with the loop: nothing runs any more. */
}

static bool pending(void)
{
	bool (*posts_pending)(void) = atomic_load(&__kiln_posts_pending);
	return atomic_load(&active_sources) > 0 || deferred_head ||
	       (posts_pending && posts_pending());
}

/* Runs `start`, then the loop; returns the status for main() to return. */
int __kiln_run_event_loop(void (*start)(void))
{
	int rc = __kiln_loop_init();
	if (rc < 0) {
		fprintf(stderr, "kiln: cannot start the event loop: %s\n", strerror(-rc));
		return 1;
	}
	atomic_store(&loop_running, true);
	start();
	enum { BATCH = 64 };
	struct epoll_event events[BATCH];
	while (!atomic_load(&shutdown_requested)) {
		run_deferred();
		if (atomic_load(&shutdown_requested) || !pending())
			break;
		int n = epoll_wait(epoll_fd, events, BATCH, deferred_head ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "kiln: epoll_wait failed: %s\n", strerror(errno));
			os_shutdown(1);
			break;
		}
		for (int i = 0; i < n && !atomic_load(&shutdown_requested); i++) {
			struct kiln_watch *w = events[i].data.ptr;
			if (w->fd >= 0)
				w->on_events(w, events[i].events);
		}
	}
	atomic_store(&loop_running, false);
	return atomic_load(&shutdown_status);
}
