/*
 * timers: the event API's timers in C. No main(): Kiln's default main() calls OS_start(),
 * then runs the event loop, which ends by itself once no timer is left.
 *
 * Starts one-shot timers out of order, a repeating timer that cancels itself after three
 * ticks, and prints, as each fires, its name and how late it was (the loop sleeps in
 * epoll_wait in between; in a Kiln guest that is a halted CPU).
 */
#include <stdint.h>
#include <stdio.h>

#include <kiln/os.h>

struct shot {
	const char *name;
	uint64_t delay_ms;
	uint64_t due_ns;
};

static struct shot shots[] = {
	{"c (30 ms)", 30, 0}, {"a (10 ms)", 10, 0}, {"d (40 ms)", 40, 0}, {"b (20 ms)", 20, 0},
};
static uint64_t start_ns;
static int ticks;

static void late(const char *name, uint64_t due_ns)
{
	uint64_t now = os_now_ns();
	printf("%-12s fired at %3llu ms, %.3f ms late\n", name,
	       (unsigned long long)((now - start_ns) / 1000000), (double)(now - due_ns) / 1e6);
}

static void on_shot(os_timer *timer, void *arg)
{
	(void)timer;
	struct shot *s = arg;
	late(s->name, s->due_ns);
}

static void on_tick(os_timer *timer, void *arg)
{
	(void)arg;
	ticks++;
	late(ticks == 1 ? "tick 1" : ticks == 2 ? "tick 2" : "tick 3", start_ns + ticks * 25000000ull);
	if (ticks == 3) {
		os_timer_cancel(timer); /* allowed inside its own callback */
		printf("ticker cancelled; the loop ends when the last timer fired\n");
	}
}

void OS_start(void)
{
	start_ns = os_now_ns();
	for (size_t i = 0; i < sizeof shots / sizeof shots[0]; i++) {
		shots[i].due_ns = start_ns + shots[i].delay_ms * 1000000u;
		int rc = os_timer_start(NULL, shots[i].delay_ms, 0, on_shot, &shots[i]);
		if (rc < 0) {
			printf("os_timer_start failed: %d\n", rc);
			os_shutdown(1);
			return;
		}
	}
	os_timer_start(NULL, 25, 25, on_tick, NULL);
	printf("started 4 one-shot timers and a 25 ms ticker\n");
}
