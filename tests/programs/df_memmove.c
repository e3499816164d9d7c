/* The direction flag must never leak into kernel code (issue 23): one thread runs musl's
 * overlapping backward memmove (`std; rep movsb; cld`) over 256 KiB for 2 s while another
 * makes syscalls that copy through the kernel — futex waits that time out, pipe writes and
 * reads whose bytes are checked. Before the fix a preemption inside the `std` window let the
 * next thread's kernel code run with DF set: its copies ran backwards, the pipe's bytes came
 * back wrong or the kernel faulted. Printed as facts, so Linux and Kiln agree. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { SIZE = 256 * 1024, FUTEX_WAIT = 0 }; /* <linux/futex.h>: not in musl's headers */
static volatile int stop;
static void *(*volatile move)(void *, const void *, size_t) = memmove;

static void *mover(void *arg) {
    unsigned char *buf = arg;
    long bad = 0, rounds = 0;
    while (!stop) {
        for (int i = 0; i < SIZE; i++)
            buf[i] = (unsigned char)(i * 7 + rounds);
        move(buf + 1, buf, SIZE - 1); /* dst > src, overlapping: copied backwards */
        for (int i = 1; i < SIZE; i += 97)
            bad += buf[i] != (unsigned char)((i - 1) * 7 + rounds);
        rounds++;
    }
    return (void *)bad;
}

static void *syscaller(void *arg) {
    (void)arg;
    int fds[2], word = 0;
    long timeouts = 0, calls = 0, mismatches = 0;
    unsigned char out[4096], in[4096];
    if (pipe(fds) != 0)
        return (void *)-1L;
    while (!stop) {
        struct timespec t = {0, 1000000};
        if (syscall(SYS_futex, &word, FUTEX_WAIT, 0, &t, NULL, 0) == -1 && errno == ETIMEDOUT)
            timeouts++;
        for (size_t i = 0; i < sizeof out; i++)
            out[i] = (unsigned char)(i ^ calls);
        if (write(fds[1], out, sizeof out) != sizeof out || read(fds[0], in, sizeof in) != sizeof in)
            return (void *)-2L;
        mismatches += memcmp(in, out, sizeof in) != 0;
        calls++;
    }
    close(fds[0]);
    close(fds[1]);
    return (void *)(timeouts == calls && mismatches == 0 ? 0L : 1L);
}

int main(void) {
    unsigned char *buf = malloc(SIZE);
    pthread_t a, b;
    pthread_create(&a, NULL, mover, buf);
    pthread_create(&b, NULL, syscaller, NULL);
    struct timespec run = {2, 0};
    nanosleep(&run, NULL);
    stop = 1;
    void *bad, *sys;
    pthread_join(a, &bad);
    pthread_join(b, &sys);
    printf("backward memmove copied every byte right: %s\n", bad == NULL ? "yes" : "no");
    printf("futex timeouts and pipe bytes came back right: %s\n", sys == NULL ? "yes" : "no");
    free(buf);
    return 0;
}
