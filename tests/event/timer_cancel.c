/*
 * timer_cancel.c: cancelling timers, including from inside their own callbacks.
 *  - R repeats every 10 ms and cancels itself in its third callback;
 *  - O (one-shot) cancels itself in its own callback (allowed, no double release);
 *  - X (30 ms) cancels Y (30 ms, started just after X) and the repeating W: neither fires
 *    again;
 *  - a 0 ms timer started by OS_start fires only after OS_start returned, and one started
 *    by a callback fires only after that callback returned (never nested);
 *  - the checker at 100 ms reports; then nothing is pending and the loop must end by itself
 *    (a leaked reference would hang here until the harness's deadline).
 */
#include <stdbool.h>
#include <stdio.h>

#include <kiln/os.h>

#include "check.h"

static os_timer *y_timer, *w_timer;
static int r_ticks, o_fired, y_fired, w_ticks, w_ticks_at_cancel;
static bool in_start, in_callback, zero_ran_inside, zero_ran, nested_ran, nested_inside;

static void on_r(os_timer *t, void *arg)
{
	(void)arg;
	if (++r_ticks == 3)
		os_timer_cancel(t);
}

static void on_o(os_timer *t, void *arg)
{
	(void)arg;
	o_fired++;
	os_timer_cancel(t);
}

static void on_y(os_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	y_fired++;
}

static void on_w(os_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	w_ticks++;
}

static void on_nested(os_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	nested_ran = true;
	nested_inside = in_callback;
}

static void on_x(os_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	in_callback = true;
	os_timer_cancel(y_timer);
	os_timer_cancel(w_timer);
	w_ticks_at_cancel = w_ticks;
	os_timer_cancel(NULL); /* a no-op */
	os_timer_start(NULL, 0, 0, on_nested, NULL);
	in_callback = false;
}

static void on_zero(os_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	zero_ran = true;
	zero_ran_inside = in_start;
}

static void on_check(os_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	CHECK("repeating timer cancelled itself after 3 ticks", r_ticks == 3, "%d", r_ticks);
	CHECK("one-shot cancelled in its callback fired once", o_fired == 1, "%d", o_fired);
	CHECK("timer cancelled by another never fired", y_fired == 0, "%d", y_fired);
	CHECK("repeating timer cancelled by another stopped", w_ticks > 0 &&
	      w_ticks == w_ticks_at_cancel, "%d then %d", w_ticks_at_cancel, w_ticks);
	CHECK("0 ms timer ran after OS_start returned", zero_ran && !zero_ran_inside, "%d %d",
	      zero_ran, zero_ran_inside);
	CHECK("timer started in a callback ran after it", nested_ran && !nested_inside, "%d %d",
	      nested_ran, nested_inside);
	CHECK("os_timer_start rejects a NULL callback",
	      os_timer_start(NULL, 1, 0, NULL, NULL) < 0, "accepted");
	if (check_status())
		os_shutdown(1);
	printf("nothing pending: the loop ends\n");
}

void OS_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	in_start = true;
	os_timer_start(NULL, 0, 0, on_zero, NULL);
	os_timer_start(NULL, 10, 10, on_r, NULL);
	os_timer_start(NULL, 5, 0, on_o, NULL);
	os_timer_start(&w_timer, 7, 7, on_w, NULL);
	os_timer_start(NULL, 30, 0, on_x, NULL);
	os_timer_start(&y_timer, 30, 0, on_y, NULL);
	os_timer_start(NULL, 100, 0, on_check, NULL);
	in_start = false;
}
