/* pthreads on Kiln's scheduler, printed as facts so Linux and Kiln agree (differential):
 * create/join with return values, thread ids, a 64-thread producer/consumer over a mutex and
 * two condition variables, 1,000 short-lived threads with memory back where it started, a
 * spin on an atomic that only ends if the spinning thread is preempted, thread-local
 * storage per thread, sleeping threads, detached threads, and pthread_once. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>

static _Thread_local int tls_value = 7;

static void *add_one(void *arg) {
    tls_value += (int)(intptr_t)arg;
    return (void *)(intptr_t)(tls_value + 1);
}

enum { PRODUCERS = 32, CONSUMERS = 32, ITEMS_EACH = 200, QCAP = 16 };
static int queue[QCAP], qhead, qlen;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static long consumed_sum, consumed_count;
static int producers_done;

static void *producer(void *arg) {
    int base = (int)(intptr_t)arg * ITEMS_EACH;
    for (int i = 0; i < ITEMS_EACH; i++) {
        pthread_mutex_lock(&qlock);
        while (qlen == QCAP)
            pthread_cond_wait(&not_full, &qlock);
        queue[(qhead + qlen++) % QCAP] = base + i;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qlock);
    }
    pthread_mutex_lock(&qlock);
    producers_done++;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&qlock);
    return NULL;
}

static void *consumer(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&qlock);
        while (qlen == 0 && producers_done < PRODUCERS)
            pthread_cond_wait(&not_empty, &qlock);
        if (qlen == 0) {
            pthread_mutex_unlock(&qlock);
            return NULL;
        }
        int v = queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        consumed_sum += v;
        consumed_count++;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qlock);
    }
}

static atomic_int flag;
static void *spinner(void *arg) {
    (void)arg;
    while (atomic_load(&flag) == 0) {
    } /* never yields: only preemption lets main run */
    return NULL;
}

static void *setter(void *arg) {
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    atomic_store(&flag, 1);
    return NULL;
}

static void *nothing(void *arg) { return arg; }

static int once_count;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void once_fn(void) { once_count++; }
static void *call_once(void *arg) {
    pthread_once(&once, once_fn);
    return arg;
}

static atomic_int detached_ran;
static void *detached(void *arg) {
    (void)arg;
    atomic_fetch_add(&detached_ran, 1);
    return NULL;
}

static void *report_tid(void *arg) {
    *(long *)arg = syscall(SYS_gettid);
    return NULL;
}

int main(void) {
    pthread_t t[64];
    void *ret;
    pthread_create(&t[0], NULL, add_one, (void *)(intptr_t)5);
    pthread_join(t[0], &ret);
    printf("join value: %ld, main tls still %d\n", (long)(intptr_t)ret, tls_value);

    long child_tid = 0;
    pthread_create(&t[0], NULL, report_tid, &child_tid);
    pthread_join(t[0], NULL);
    printf("child tid differs from main: %d\n", child_tid != syscall(SYS_gettid) && child_tid > 0);

    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&t[i], NULL, producer, (void *)(intptr_t)i);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_create(&t[PRODUCERS + i], NULL, consumer, NULL);
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        pthread_join(t[i], NULL);
    long n = (long)PRODUCERS * ITEMS_EACH;
    printf("producer/consumer: %ld items, sum ok %d\n", consumed_count, consumed_sum == n * (n - 1) / 2);

    /* 1,000 short-lived threads; their stacks are reused, so memory ends where it started. */
    void *before = sbrk(0);
    for (int i = 0; i < 1000; i++) {
        pthread_create(&t[0], NULL, nothing, (void *)(intptr_t)i);
        pthread_join(t[0], &ret);
        if ((intptr_t)ret != i) {
            printf("bad return from thread %d\n", i);
            return 1;
        }
    }
    printf("1000 threads joined, brk unchanged %d\n", sbrk(0) == before);

    pthread_create(&t[0], NULL, spinner, NULL);
    pthread_create(&t[1], NULL, setter, NULL);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    printf("spinner stopped by another thread: %d\n", atomic_load(&flag));

    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, call_once, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    printf("pthread_once ran %d time(s)\n", once_count);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < 10; i++)
        pthread_create(&t[i], &attr, detached, NULL);
    while (atomic_load(&detached_ran) < 10)
        sched_yield();
    printf("detached threads ran: %d\n", atomic_load(&detached_ran));
    return 0;
}
