/* bench/syscall.sh: the cost of a syscall round trip in a Kiln image. N calls of getppid()
 * (the cheapest handler: what is measured is the entry, dispatch and exit) and of a 1-byte
 * write+read through a pipe, timed with CLOCK_MONOTONIC; prints ns per call. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    long long t0 = now_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    long long t1 = now_ns();
    int p[2];
    if (pipe(p) != 0)
        return 1;
    char c = 'x';
    long long t2 = now_ns();
    for (long i = 0; i < n; i++) {
        if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
            return 1;
    }
    long long t3 = now_ns();
    printf("getppid: %lld ns/call\n", (t1 - t0) / n);
    printf("pipe write+read: %lld ns/pair\n", (t3 - t2) / n);
    return 0;
}
