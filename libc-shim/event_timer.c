/*
 * event_timer.c: os_timer_start / os_timer_cancel (include/kiln/os.h).
 *
 * All timers share one timerfd, armed (absolute, CLOCK_MONOTONIC, nanoseconds) for the
 * earliest deadline of a binary min-heap ordered by (deadline, start sequence): equal
 * deadlines fire in start order, and a timer started during a pass has a sequence number at
 * or above the pass's and so never fires in it. A firing timer is out of the heap while its
 * callback runs, which is what makes cancelling it from inside that callback simple.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../include/kiln/os.h"
#include "event_internal.h"

struct os_timer {
	uint64_t deadline_ns;
	uint64_t repeat_ns;
	uint64_t seq;
	size_t heap_index;      /* valid while in the heap */
	bool firing;            /* its callback runs now (it is out of the heap) */
	bool cancelled;         /* cancelled inside its own callback */
	os_timer_cb callback;
	void *arg;
};

static struct kiln_watch timer_watch = {.fd = -1};
static os_timer **heap;
static size_t heap_len, heap_cap;
static uint64_t next_seq;
static uint64_t armed_ns; /* the deadline the timerfd is armed for; 0: disarmed */

static bool before(const os_timer *a, const os_timer *b)
{
	if (a->deadline_ns != b->deadline_ns)
		return a->deadline_ns < b->deadline_ns;
	return a->seq < b->seq;
}

static void heap_put(size_t i, os_timer *t)
{
	heap[i] = t;
	t->heap_index = i;
}

static void sift_up(size_t i)
{
	os_timer *t = heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(t, heap[parent]))
			break;
		heap_put(i, heap[parent]);
		i = parent;
	}
	heap_put(i, t);
}

static void sift_down(size_t i)
{
	os_timer *t = heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= heap_len)
			break;
		if (child + 1 < heap_len && before(heap[child + 1], heap[child]))
			child++;
		if (!before(heap[child], t))
			break;
		heap_put(i, heap[child]);
		i = child;
	}
	heap_put(i, t);
}

static int heap_insert(os_timer *t)
{
	if (heap_len == heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 64;
		os_timer **grown = realloc(heap, cap * sizeof *heap);
		if (!grown)
			return -ENOMEM;
		heap = grown;
		heap_cap = cap;
	}
	heap_put(heap_len++, t);
	sift_up(heap_len - 1);
	return 0;
}

static void heap_remove(os_timer *t)
{
	size_t i = t->heap_index;
	os_timer *last = heap[--heap_len];
	if (i == heap_len)
		return;
	heap_put(i, last);
	if (i > 0 && before(last, heap[(i - 1) / 2]))
		sift_up(i);
	else
		sift_down(i);
}

/* Arms the timerfd for the earliest deadline (or disarms it). */
static void rearm(void)
{
	uint64_t want = heap_len ? heap[0]->deadline_ns : 0;
	if (want == armed_ns)
		return;
	struct itimerspec its = {0};
	if (want) {
		its.it_value.tv_sec = (time_t)(want / 1000000000u);
		its.it_value.tv_nsec = (long)(want % 1000000000u);
	}
	/* Cannot fail for a valid timerfd and a normalized, non-negative time. */
	timerfd_settime(timer_watch.fd, TFD_TIMER_ABSTIME, &its, NULL);
	armed_ns = want;
}

static void fire_due(struct kiln_watch *w, uint32_t events)
{
	(void)events;
	uint64_t expirations;
	/* Only to clear readiness; the heap, not the count, says what is due. */
	while (read(w->fd, &expirations, sizeof expirations) > 0)
		;
	armed_ns = 0; /* a fired absolute timerfd is disarmed */
	uint64_t now = os_now_ns();
	uint64_t pass_seq = next_seq;
	while (heap_len && heap[0]->deadline_ns <= now && heap[0]->seq < pass_seq &&
	       !__kiln_loop_stopping()) {
		os_timer *t = heap[0];
		heap_remove(t);
		t->firing = true;
		t->callback(t, t->arg);
		t->firing = false;
		if (t->repeat_ns && !t->cancelled) {
			uint64_t next = t->deadline_ns + t->repeat_ns;
			uint64_t late_now = os_now_ns();
			if (next <= late_now) /* fell behind: skip the missed periods */
				next = late_now + t->repeat_ns - (late_now - t->deadline_ns) % t->repeat_ns;
			t->deadline_ns = next;
			t->seq = next_seq++;
			if (heap_insert(t) == 0)
				continue;
			fprintf(stderr, "kiln: a repeating timer ended: out of memory\n");
		}
		free(t);
		__kiln_unref();
	}
	rearm();
}

int os_timer_start(os_timer **timer, uint64_t delay_ms, uint64_t repeat_ms, os_timer_cb callback,
                   void *arg)
{
	if (!callback)
		return -EINVAL;
	int rc = __kiln_loop_init();
	if (rc < 0)
		return rc;
	if (timer_watch.fd < 0) {
		int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		timer_watch.fd = fd;
		timer_watch.on_events = fire_due;
		rc = __kiln_watch_set(&timer_watch, EPOLLIN);
		if (rc < 0) {
			close(fd);
			timer_watch.fd = -1;
			return rc;
		}
	}
	os_timer *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	/* Nanoseconds overflow after 584 years: clamp absurd delays instead of wrapping. */
	const uint64_t max_ms = UINT64_C(100) * 365 * 24 * 3600 * 1000;
	t->deadline_ns = os_now_ns() + (delay_ms > max_ms ? max_ms : delay_ms) * 1000000u;
	t->repeat_ns = (repeat_ms > max_ms ? max_ms : repeat_ms) * 1000000u;
	t->seq = next_seq++;
	t->callback = callback;
	t->arg = arg;
	rc = heap_insert(t);
	if (rc < 0) {
		free(t);
		return rc;
	}
	__kiln_ref();
	if (t->heap_index == 0)
		rearm();
	if (timer)
		*timer = t;
	return 0;
}

void os_timer_cancel(os_timer *t)
{
	if (!t || t->cancelled)
		return;
	if (t->firing) {
		/* fire_due frees it when the callback returns. */
		t->cancelled = true;
		t->repeat_ns = 0;
		return;
	}
	bool was_first = t->heap_index == 0;
	heap_remove(t);
	free(t);
	__kiln_unref();
	if (was_first)
		rearm();
}
