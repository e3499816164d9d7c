/*
 * timer_order.c: timers fire in deadline order (equal delays in start order), never early,
 * and at most LATE_BOUND_MS late; a repeating timer keeps its period and cancels itself
 * inside its third callback; the loop then ends by itself (status 0).
 *
 * Bound: no timer may fire before its deadline, and none more than LATE_BOUND_MS after it.
 * The deadlines are 10+ ms apart and the period (50 ms) exceeds the bound, so the order is
 * fixed whatever the lateness within the bound.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kiln/os.h>

#include "check.h"

#define LATE_BOUND_MS 40

struct shot {
	const char *name;
	uint64_t delay_ms;
	uint64_t due_ns; /* the clock read before starting it, plus the delay */
};

static struct shot shots[] = {
	{"a", 125, 0}, {"b", 10, 0}, {"c", 75, 0}, {"d", 10, 0},
	{"e", 0, 0},   {"f", 25, 0}, {"z", 175, 0},
};
static const char *expected = "e b d f r1 c r2 a r3 z";
static char order[128];
static int64_t max_late_ns, min_late_ns = INT64_MAX;
static uint64_t repeat_start_ns;
static int ticks;

static void record(const char *name, uint64_t due_ns)
{
	int64_t late = (int64_t)(os_now_ns() - due_ns);
	if (late > max_late_ns)
		max_late_ns = late;
	if (late < min_late_ns)
		min_late_ns = late;
	if (order[0])
		strcat(order, " ");
	strcat(order, name);
}

static void on_shot(os_timer *t, void *arg)
{
	(void)t;
	struct shot *s = arg;
	record(s->name, s->due_ns);
	if (strcmp(s->name, "z") == 0) {
		/* The last one: report; nothing else is pending, so the loop ends after this. */
		printf("fired: %s\n", order);
		CHECK("order", strcmp(order, expected) == 0, "expected %s", expected);
		CHECK("never early", min_late_ns >= 0, "%lld ns early", (long long)-min_late_ns);
		CHECK("lateness within 40 ms", max_late_ns <= LATE_BOUND_MS * 1000000ll,
		      "%lld us late", (long long)(max_late_ns / 1000));
		CHECK("repeating timer ticked 3 times", ticks == 3, "%d", ticks);
		printf("info: lateness min %.3f ms, max %.3f ms\n", (double)min_late_ns / 1e6,
		       (double)max_late_ns / 1e6);
		if (check_status())
		os_shutdown(1);
	}
}

static void on_tick(os_timer *t, void *arg)
{
	(void)arg;
	static const char *names[] = {"r1", "r2", "r3", "r4"};
	ticks++;
	record(names[ticks < 4 ? ticks - 1 : 3], repeat_start_ns + (uint64_t)ticks * 50000000u);
	if (ticks == 3)
		os_timer_cancel(t);
}

void OS_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof shots / sizeof shots[0]; i++) {
		if (i == 4) { /* the repeating one starts between d and e */
			repeat_start_ns = os_now_ns();
			os_timer_start(NULL, 50, 50, on_tick, NULL);
		}
		shots[i].due_ns = os_now_ns() + shots[i].delay_ms * 1000000u;
		int rc = os_timer_start(NULL, shots[i].delay_ms, 0, on_shot, &shots[i]);
		if (rc < 0) {
			printf("os_timer_start: FAIL (%d)\n", rc);
			os_shutdown(1);
			return;
		}
	}
	printf("started 8 timers\n");
}
