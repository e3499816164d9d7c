/* Pipes, eventfd, dup, fcntl, poll, select and epoll, printed as facts so the output is the
 * same on Linux and on Kiln (differential: tests/diff.rs). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void say(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld\n", what, r);
    errno = 0;
}

static long elapsed_ms(struct timespec a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

int main(void) {
    int p[2];
    say("pipe2", pipe2(p, O_NONBLOCK | O_CLOEXEC));
    say("cloexec on read end", fcntl(p[0], F_GETFD) & FD_CLOEXEC);
    say("nonblock on write end", (fcntl(p[1], F_GETFL) & O_NONBLOCK) != 0);
    say("access mode of read end", fcntl(p[0], F_GETFL) & O_ACCMODE);
    char buf[128];
    say("read empty nonblocking", read(p[0], buf, sizeof buf));
    say("write", write(p[1], "hello", 5));
    int avail = -1;
    ioctl(p[0], FIONREAD, &avail);
    say("FIONREAD", avail);
    struct stat st;
    fstat(p[0], &st);
    say("pipe is a FIFO", S_ISFIFO(st.st_mode));

    struct pollfd pfd[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {999, POLLIN, 0}};
    say("poll ready count", poll(pfd, 3, 0));
    printf("revents: %d %d %d\n", pfd[0].revents, pfd[1].revents, pfd[2].revents);

    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    FD_SET(p[1], &wr);
    struct timeval tv = {0, 0};
    say("select ready count", select(p[1] + 1, &rd, &wr, NULL, &tv));
    printf("select sets: %d %d\n", FD_ISSET(p[0], &rd) != 0, FD_ISSET(p[1], &wr) != 0);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    say("epoll_create1", ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 0x1122334455667788ULL};
    say("epoll_ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    say("epoll_ctl add again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    struct epoll_event out[4];
    int n = epoll_wait(ep, out, 4, 0);
    say("epoll_wait edge", n);
    if (n == 1)
        printf("event: %x data %llx\n", out[0].events, (unsigned long long)out[0].data.u64);
    say("epoll_wait no new edge", epoll_wait(ep, out, 4, 0));
    say("write more", write(p[1], "!", 1));
    say("epoll_wait new edge", epoll_wait(ep, out, 4, 0));
    say("read", read(p[0], buf, sizeof buf));
    buf[6] = 0;
    printf("got: %s\n", buf);

    /* A timed wait that nothing satisfies lasts at least its timeout. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    say("epoll_wait timeout", epoll_wait(ep, out, 4, 30));
    say("waited at least 30 ms", elapsed_ms(t0) >= 30);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    say("poll timeout", poll(pfd, 1, 25));
    say("waited at least 25 ms", elapsed_ms(t0) >= 25);

    int efd = eventfd(0, EFD_NONBLOCK | EFD_SEMAPHORE);
    uint64_t v = 3;
    say("eventfd write", write(efd, &v, 8));
    struct epoll_event eev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = efd};
    say("epoll add eventfd oneshot", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &eev));
    say("oneshot first", epoll_wait(ep, out, 4, 0));
    say("oneshot disabled", epoll_wait(ep, out, 4, 0));
    say("epoll_ctl mod", epoll_ctl(ep, EPOLL_CTL_MOD, efd, &eev));
    say("oneshot rearmed", epoll_wait(ep, out, 4, 0));
    say("eventfd semaphore read", read(efd, &v, 8));
    printf("value: %llu\n", (unsigned long long)v);
    say("eventfd short read", read(efd, &v, 4));

    int d = dup(p[1]);
    say("dup is lowest free", d == efd + 1);
    say("dup2", dup2(p[1], 50));
    say("dup3 same fd", dup3(50, 50, 0));
    say("close write end", close(p[1]));
    say("read while a dup still writes", read(p[0], buf, sizeof buf));
    close(d);
    close(50);
    say("read after last writer", read(p[0], buf, sizeof buf));
    struct pollfd hup = {p[0], POLLIN, 0};
    poll(&hup, 1, 0);
    printf("hangup: %d\n", (hup.revents & POLLHUP) != 0);
    say("close twice", close(p[1]));
    say("epoll_ctl del", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    say("epoll_ctl del again", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    say("epoll_wait on a pipe", epoll_wait(p[0], out, 4, 0));

    /* Writing to a pipe nobody reads: EPIPE when SIGPIPE is ignored. */
    int q[2];
    pipe(q);
    close(q[0]);
    signal(SIGPIPE, SIG_IGN);
    say("write to a closed pipe", write(q[1], "x", 1));
    return 0;
}
