/*
 * event_loop.c: the event loop behind OS_start() and os_shutdown() (include/kiln/os.h).
 *
 * Kept apart from default_main.c on purpose: a program with its own main() may still call
 * os_shutdown(), and linking that must not pull in the default main() and its reference to
 * OS_start. The loop follows Node.js: it runs while something is pending and ends when
 * nothing is, or when os_shutdown() was called. There are no event sources yet, so after
 * OS_start() returns nothing can be pending and the loop ends at once.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "../include/kiln/os.h"

int __kiln_run_event_loop(void (*start)(void));

static atomic_bool loop_running;
static atomic_bool shutdown_requested;
static atomic_int shutdown_status;

void os_shutdown(int status)
{
	if (!atomic_load(&loop_running))
		exit(status);
	atomic_store(&shutdown_status, status);
	atomic_store(&shutdown_requested, true);
}

/* Runs `start`, then the loop; returns the status for main() to return. */
int __kiln_run_event_loop(void (*start)(void))
{
	atomic_store(&loop_running, true);
	start();
	/*
	 * Here the loop will dispatch callbacks and sleep until the next event for as long as a
	 * source is registered and os_shutdown() was not called; with no sources, nothing is
	 * pending once start() returns.
	 */
	atomic_store(&loop_running, false);
	return atomic_load(&shutdown_status);
}
