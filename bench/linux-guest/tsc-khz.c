/* tsc-khz: prints the host's TSC frequency in kHz, measured against CLOCK_MONOTONIC_RAW.
 *
 * Under QEMU's TCG the guest's TSC is the host's, so bench/linux-guest/run.sh passes this as
 * `tsc_early_khz=` to the Linux guest: on a busy host Linux's fast PIT calibration often
 * fails on -M microvm, which has no HPET or ACPI PM timer to fall back on, and the kernel then
 * hangs early in boot. Each sample brackets an rdtsc between two clock reads and keeps the
 * tightest bracket; the result is the median of five 100 ms windows. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A (time, tsc) pair read as close together as this process can. */
static void sample(int64_t *ns, uint64_t *tsc)
{
	int64_t best = INT64_MAX;
	for (int i = 0; i < 50; i++) {
		int64_t a = now_ns();
		uint64_t t = __rdtsc();
		int64_t b = now_ns();
		if (b - a < best) {
			best = b - a;
			*ns = a + (b - a) / 2;
			*tsc = t;
		}
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	double khz[5];
	for (int i = 0; i < 5; i++) {
		int64_t n0, n1;
		uint64_t t0, t1;
		struct timespec wait = {0, 100 * 1000 * 1000};
		sample(&n0, &t0);
		nanosleep(&wait, NULL);
		sample(&n1, &t1);
		khz[i] = (double)(t1 - t0) * 1e6 / (double)(n1 - n0);
	}
	qsort(khz, 5, sizeof khz[0], cmp);
	printf("%.0f\n", khz[2]);
	return 0;
}
