/* clock_report SECONDS: prints `clock REALTIME_NS MONOTONIC_NS` four times a second for
 * SECONDS seconds; tests/clock.rs compares the guest's clocks with the host's time at which
 * each line arrives. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 10;
	for (int i = 0; i <= seconds * 4; i++) {
		printf("clock %lld %lld\n", ns(CLOCK_REALTIME), ns(CLOCK_MONOTONIC));
		fflush(stdout);
		struct timespec q = {0, 250000000};
		nanosleep(&q, NULL);
	}
	return 0;
}
