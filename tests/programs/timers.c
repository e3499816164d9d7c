/* timerfd with read, poll and epoll, printed as facts (differential: tests/diff.rs). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(void) {
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("create: %d\n", t >= 0);
    uint64_t n = 0;
    printf("read unarmed: %zd %s\n", read(t, &n, 8), strerror(errno));

    /* One-shot 30 ms, waited for with poll. */
    struct itimerspec its = {{0, 0}, {0, 30 * 1000000}};
    long t0 = now_ms();
    printf("settime: %d\n", timerfd_settime(t, 0, &its, NULL));
    struct pollfd p = {t, POLLIN, 0};
    printf("poll: %d\n", poll(&p, 1, 1000));
    printf("waited >= 30 ms: %d\n", now_ms() - t0 >= 30);
    printf("read: %zd, expirations %llu\n", read(t, &n, 8), (unsigned long long)n);
    struct itimerspec cur;
    timerfd_gettime(t, &cur);
    printf("disarmed after firing: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

    /* Periodic 10 ms via epoll (blocking waits), 5 reads count at least 5 expirations. */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 42};
    epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
    struct itimerspec per = {{0, 10 * 1000000}, {0, 10 * 1000000}};
    timerfd_settime(t, 0, &per, NULL);
    timerfd_gettime(t, &cur);
    printf("interval kept: %d\n", cur.it_interval.tv_nsec == 10 * 1000000);
    uint64_t total = 0;
    t0 = now_ms();
    for (int i = 0; i < 5; i++) {
        struct epoll_event out;
        if (epoll_wait(ep, &out, 1, 1000) != 1 || out.data.u32 != 42) {
            printf("epoll_wait failed\n");
            return 1;
        }
        read(t, &n, 8);
        total += n;
    }
    printf("periodic: >= 5 expirations %d, >= 40 ms %d\n", total >= 5, now_ms() - t0 >= 40);

    /* Absolute time on CLOCK_REALTIME, 20 ms from now. */
    int rt = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    wall.tv_nsec += 20 * 1000000;
    if (wall.tv_nsec >= 1000000000) {
        wall.tv_sec++;
        wall.tv_nsec -= 1000000000;
    }
    struct itimerspec abs = {{0, 0}, wall};
    t0 = now_ms();
    timerfd_settime(rt, TFD_TIMER_ABSTIME, &abs, NULL);
    printf("blocking read: %zd\n", read(rt, &n, 8));
    printf("absolute realtime fired after >= 15 ms: %d\n", now_ms() - t0 >= 15);
    printf("bad clock: %d %s\n", timerfd_create(12345, 0), strerror(errno));
    return 0;
}
