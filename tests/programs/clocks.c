/* Clocks: prints only booleans so the host and the guest agree. Differential. */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static double seconds(const struct timespec *t) {
    return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

int main(void) {
    struct timespec prev, now;
    int ok = clock_gettime(CLOCK_MONOTONIC, &prev) == 0;
    int forward = 1, nsec_ok = 1;
    for (int i = 0; i < 1000; i++) {
        ok &= clock_gettime(CLOCK_MONOTONIC, &now) == 0;
        if (now.tv_sec < prev.tv_sec || (now.tv_sec == prev.tv_sec && now.tv_nsec < prev.tv_nsec))
            forward = 0;
        if (now.tv_nsec < 0 || now.tv_nsec >= 1000000000L)
            nsec_ok = 0;
        prev = now;
    }
    printf("monotonic_calls_ok=%d\n", ok);
    printf("monotonic_never_backwards=%d\n", forward);
    printf("monotonic_nsec_in_range=%d\n", nsec_ok);

    struct timespec real;
    ok = clock_gettime(CLOCK_REALTIME, &real) == 0;
    printf("realtime_ok=%d\n", ok);
    printf("realtime_after_2024=%d\n", real.tv_sec > 1704067200); /* 2024-01-01T00:00:00Z */
    printf("realtime_before_2100=%d\n", real.tv_sec < 4102444800LL);
    time_t t = time(NULL);
    printf("time_matches_realtime=%d\n", t >= real.tv_sec && t - real.tv_sec <= 2);
    struct timeval tv;
    ok = gettimeofday(&tv, NULL) == 0;
    printf("gettimeofday_matches=%d\n",
           ok && tv.tv_sec >= real.tv_sec && tv.tv_sec - real.tv_sec <= 2 && tv.tv_usec < 1000000);

    struct timespec before, after, req = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &before);
    int slept = nanosleep(&req, NULL) == 0;
    clock_gettime(CLOCK_MONOTONIC, &after);
    double elapsed = seconds(&after) - seconds(&before);
    printf("nanosleep_ok=%d\n", slept);
    printf("nanosleep_20ms_took_at_least_20ms=%d\n", elapsed >= 0.020);
    printf("nanosleep_20ms_took_under_5s=%d\n", elapsed < 5.0);

    struct timespec res;
    printf("getres_monotonic_ok=%d\n",
           clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0);
    return 0;
}
