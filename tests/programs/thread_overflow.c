/* A thread that recurses without end runs into the guard page musl puts under its stack:
 * a clean fault report and a non-zero status, not silent corruption. */
#include <pthread.h>
#include <stdio.h>

__attribute__((noinline)) static int recurse(int n) {
    volatile char buf[512];
    buf[0] = (char)n;
    return recurse(n + 1) + buf[0];
}

static void *run(void *arg) {
    (void)arg;
    printf("thread recursing\n");
    fflush(stdout);
    return (void *)(long)recurse(0);
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, run, NULL);
    pthread_join(t, NULL);
    printf("not reached\n");
    return 0;
}
