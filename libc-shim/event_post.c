/*
 * event_post.c: os_post (include/kiln/os.h), the thread-safe hand-off to the loop.
 *
 * Posters push onto a lock-free stack (compare-and-swap on its head) and write the loop's
 * wake-up eventfd when they found the stack empty; the loop, woken, takes the whole stack at
 * once (atomic exchange), reverses it into posting order and runs it. A poster that finds
 * the stack non-empty needs no wake-up: the loop has not taken that stack yet, and whoever
 * made it non-empty woke the loop. `queued` counts posts not yet run: they keep the loop
 * alive. One allocation per post: posting is a cross-thread hand-off, not a hot path.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "../include/kiln/os.h"
#include "event_internal.h"

struct post {
	struct post *next;
	void (*callback)(void *arg);
	void *arg;
};

static _Atomic(struct post *) stack_head;
static atomic_long queued;

static bool posts_pending(void)
{
	return atomic_load(&queued) > 0;
}

static void drain(void)
{
	struct post *list = atomic_exchange(&stack_head, NULL);
	struct post *fifo = NULL;
	while (list) {
		struct post *next = list->next;
		list->next = fifo;
		fifo = list;
		list = next;
	}
	while (fifo) {
		struct post *p = fifo;
		fifo = p->next;
		if (!__kiln_loop_stopping())
			p->callback(p->arg);
		free(p);
		atomic_fetch_sub(&queued, 1);
	}
}

int os_post(void (*callback)(void *arg), void *arg)
{
	if (!callback || !__kiln_loop_running())
		return -EINVAL;
	struct post *p = malloc(sizeof *p);
	if (!p)
		return -ENOMEM;
	p->callback = callback;
	p->arg = arg;
	/* Both hooks are the same on every call; storing them again is harmless. */
	atomic_store(&__kiln_post_drain, drain);
	atomic_store(&__kiln_posts_pending, posts_pending);
	atomic_fetch_add(&queued, 1);
	struct post *head = atomic_load(&stack_head);
	do
		p->next = head;
	while (!atomic_compare_exchange_weak(&stack_head, &head, p));
	if (!head)
		__kiln_loop_wake();
	return 0;
}
