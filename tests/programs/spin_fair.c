/* Preemption of threads that compute without ever making a syscall (issue 13): the main
 * thread and three others spin on counters for 2 s while a fifth thread sleeps 10 ms at a
 * time and a sixth ends the run. Printed as facts, so Linux and Kiln agree: every spinner —
 * main included — gets at least 20% of its fair share, the sleepers wake on time under that
 * load, and the run ends at all (before the fix, main was never preempted and nothing else
 * ever ran). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { SPINNERS = 4, NAPS = 40 };
static volatile unsigned long counts[SPINNERS];
static volatile int stop;
static long lateness_ns[NAPS];

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void spin(int i) {
    while (!stop)
        counts[i]++;
}

static void *spinner(void *arg) {
    spin((int)(long)arg);
    return NULL;
}

static void *sleeper(void *arg) {
    (void)arg;
    for (int i = 0; i < NAPS; i++) {
        struct timespec nap = {0, 10 * 1000000L};
        long t0 = now_ns();
        nanosleep(&nap, NULL);
        lateness_ns[i] = now_ns() - t0 - nap.tv_nsec;
    }
    return NULL;
}

static void *stopper(void *arg) {
    (void)arg;
    struct timespec run = {2, 0};
    nanosleep(&run, NULL);
    stop = 1;
    return NULL;
}

static int by_value(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(void) {
    pthread_t spinners[SPINNERS], nap, end;
    long start = now_ns();
    pthread_create(&nap, NULL, sleeper, NULL);
    pthread_create(&end, NULL, stopper, NULL);
    for (int i = 1; i < SPINNERS; i++)
        pthread_create(&spinners[i], NULL, spinner, (void *)(long)i);
    spin(0);
    long ran_ms = (now_ns() - start) / 1000000;
    for (int i = 1; i < SPINNERS; i++)
        pthread_join(spinners[i], NULL);
    pthread_join(nap, NULL);
    pthread_join(end, NULL);

    unsigned long total = 0;
    for (int i = 0; i < SPINNERS; i++)
        total += counts[i];
    /* Details only when a fact fails, so the differential shows them. */
    printf("the run ended after about 2 s: ");
    if (ran_ms >= 2000 && ran_ms < 4000)
        printf("yes\n");
    else
        printf("no (%ld ms)\n", ran_ms);
    printf("every spinner got at least 20%% of its fair share:");
    int fair = 1;
    for (int i = 0; i < SPINNERS; i++) {
        if (counts[i] < total / SPINNERS / 5) {
            fair = 0;
            printf(" spinner %d ran %lu of %lu", i, counts[i], total);
        }
    }
    printf("%s\n", fair ? " yes" : "");

    qsort(lateness_ns, NAPS, sizeof lateness_ns[0], by_value);
    long median = lateness_ns[NAPS / 2], worst = lateness_ns[NAPS - 1];
    /* A 10 ms nap under four spinners: on time means within a few ms (Linux's wake-up
     * preemption; Kiln's overdue waiters jump the rotation; unloaded, both ~1-2 ms), not
     * never. The bound is loose because a loaded host delays the guest's timer and Linux's
     * alike (medians of 5 and 13 ms were seen on this 2-core machine under a full load). */
    printf("the sleeper woke on time (median lateness under 20 ms): ");
    if (median >= 0 && median < 20000000)
        printf("yes\n");
    else
        printf("no (median %ld us, worst %ld us)\n", median / 1000, worst / 1000);
    return 0;
}
