/*
 * timers_10k.c: 10,000 timers with delays spread over 0..999 ms (a fixed pseudo-random
 * sequence, none in 450..549 ms). Every third is cancelled at once; a timer started first,
 * due at 500 ms, cancels every fifth of the others due at 550 ms or later (none of which can
 * have fired, however slowly the 10,000 were started: the counts do not depend on speed).
 * Checks: each live timer fires exactly once, none cancelled
 * fires, none fires early, they fire in deadline order, lateness stays under 250 ms, and the
 * loop ends by itself once the last one fired (status 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <kiln/os.h>

#include "check.h"

#define COUNT 10000
#define LATE_BOUND_MS 250

struct entry {
	os_timer *timer;
	uint64_t lo_ns, hi_ns; /* the deadline lies between these (clock read around the start) */
	uint64_t delay_ms;
	int fired;
	int cancelled;
};

static struct entry entries[COUNT];
static int fired_total, cancelled_total, out_of_order, early;
static int64_t max_late_ns;
static uint64_t last_lo_ns;
static int live;

static void report(void)
{
	int twice = 0, cancelled_fired = 0, missing = 0;
	for (int i = 0; i < COUNT; i++) {
		twice += entries[i].fired > 1;
		cancelled_fired += entries[i].cancelled && entries[i].fired;
		missing += !entries[i].cancelled && !entries[i].fired;
	}
	printf("cancelled %d, fired %d\n", cancelled_total, fired_total);
	CHECK("every live timer fired once", twice == 0 && missing == 0, "%d twice, %d missing",
	      twice, missing);
	CHECK("no cancelled timer fired", cancelled_fired == 0, "%d", cancelled_fired);
	CHECK("never early", early == 0, "%d early", early);
	CHECK("deadline order", out_of_order == 0, "%d out of order", out_of_order);
	CHECK("lateness within 250 ms", max_late_ns <= LATE_BOUND_MS * 1000000ll, "%lld us",
	      (long long)(max_late_ns / 1000));
	printf("info: max lateness %.3f ms\n", (double)max_late_ns / 1e6);
	if (check_status())
		os_shutdown(1);
}

static void on_fire(os_timer *t, void *arg)
{
	(void)t;
	struct entry *e = arg;
	uint64_t now = os_now_ns();
	e->fired++;
	e->timer = NULL;
	fired_total++;
	if (now < e->lo_ns)
		early++;
	else if ((int64_t)(now - e->lo_ns) > max_late_ns)
		max_late_ns = (int64_t)(now - e->lo_ns);
	/* Deadlines are nondecreasing in firing order: this one's cannot precede the last's. */
	if (e->hi_ns < last_lo_ns)
		out_of_order++;
	last_lo_ns = e->lo_ns;
	if (--live == 0)
		report();
}

static void cancel_some(os_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	for (int i = 0; i < COUNT; i += 5) {
		if (entries[i].delay_ms >= 550 && !entries[i].cancelled) {
			os_timer_cancel(entries[i].timer);
			entries[i].timer = NULL;
			entries[i].cancelled = 1;
			cancelled_total++;
			live--;
		}
	}
	if (live == 0)
		report();
}

void OS_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	os_timer_start(NULL, 500, 0, cancel_some, NULL);
	uint32_t seed = 12345;
	for (int i = 0; i < COUNT; i++) {
		seed = seed * 1103515245u + 12345u;
		uint64_t delay = (seed >> 8) % 1000;
		if (delay >= 450 && delay < 550) /* keep clear of the canceller at 500 ms */
			delay += 100;
		entries[i].delay_ms = delay;
		entries[i].lo_ns = os_now_ns() + delay * 1000000u;
		int rc = os_timer_start(&entries[i].timer, delay, 0, on_fire, &entries[i]);
		entries[i].hi_ns = os_now_ns() + delay * 1000000u;
		if (rc < 0) {
			printf("os_timer_start: FAIL (%d at %d)\n", rc, i);
			os_shutdown(1);
			return;
		}
	}
	live = COUNT;
	for (int i = 0; i < COUNT; i += 3) {
		os_timer_cancel(entries[i].timer);
		entries[i].timer = NULL;
		entries[i].cancelled = 1;
		cancelled_total++;
		live--;
	}
	printf("started %d timers\n", COUNT);
}
