/*
 * event_internal.h: what the parts of the event loop (event_*.c) share; not a public header.
 *
 * The loop (event_loop.c) knows only "watches": a file descriptor registered with epoll, a
 * function to call with its ready events, and a function to call later from the loop
 * ("deferred"). Timers, sockets and posts are built on that, one object file each, so a
 * program links only the parts it uses. Everything here runs on the loop's thread unless a
 * comment says otherwise.
 *
 * Lifetime rule that makes closing inside callbacks safe: a handle that owns a watch is
 * never freed while an epoll batch that may name it is being dispatched. Closing sets
 * watch.fd to -1 (so later events of the batch are skipped), unregisters and closes the
 * descriptor, and defers; the handle is freed from its own deferred function.
 */
#ifndef KILN_EVENT_INTERNAL_H
#define KILN_EVENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

struct kiln_watch {
	int fd;                   /* -1 once closed: pending events for it are dropped */
	uint32_t events;          /* the epoll events registered now */
	bool registered;          /* known to epoll */
	bool deferred;            /* on the deferred list */
	struct kiln_watch *next_deferred;
	void (*on_events)(struct kiln_watch *w, uint32_t events);
	void (*on_deferred)(struct kiln_watch *w);
};

/* Creates the epoll instance (and the wake-up eventfd) if needed; 0 or -errno. */
int __kiln_loop_init(void);

/* Registers `w` for `events` (or changes them); 0 or -errno. */
int __kiln_watch_set(struct kiln_watch *w, uint32_t events);

/* Unregisters `w` from epoll (its descriptor stays open). */
void __kiln_watch_remove(struct kiln_watch *w);

/* Queues w->on_deferred(w) to run from the loop, once, before the loop waits again. */
void __kiln_defer(struct kiln_watch *w);

/* One more / one less active event source: the loop ends when none is left. */
void __kiln_ref(void);
void __kiln_unref(void);

/* Set by event_post.c: runs queued posts after the wake-up eventfd fired. */
extern void (*_Atomic __kiln_post_drain)(void);
/* Set by event_post.c: whether posts are queued (they keep the loop alive). Thread-safe. */
extern bool (*_Atomic __kiln_posts_pending)(void);

/* Wakes the loop from another thread (writes the eventfd). Thread-safe. */
void __kiln_loop_wake(void);

/* Whether os_shutdown() stopped the loop: dispatchers stop calling callbacks then. */
bool __kiln_loop_stopping(void);

/* Whether OS_start's loop runs (os_post needs it). Thread-safe. */
bool __kiln_loop_running(void);

/* Parses a numeric IPv4/IPv6 literal and a port into *addr; the length, or -EINVAL. */
int __kiln_parse_addr(const char *host, uint16_t port, void *addr_storage);

/* A non-blocking, close-on-exec socket of `family`/`type`; the fd or -errno. IPv6 ones are
 * IPv6-only (see os.h). */
int __kiln_socket(int family, int type);

#endif /* KILN_EVENT_INTERNAL_H */
