/*
 * post_threads.c: os_post from several threads. OS_start holds the loop (os_hold), starts
 * THREADS threads that each post PER_THREAD numbered callbacks and then a "done" one; the
 * loop checks that every callback ran once, on the loop's thread, in each thread's posting
 * order, and releases the loop when the last thread is done. A post from the loop's own
 * thread runs only after OS_start returned. The loop then ends by itself (status 0).
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <kiln/os.h>

#include "check.h"

#define THREADS 4
#define PER_THREAD 1000

struct message {
	int thread;
	int seq; /* -1: that thread is done */
};

static pthread_t loop_thread, workers[THREADS];
static int next_seq[THREADS];
static int received, out_of_order, wrong_thread, done_threads;
static bool in_start, self_post_ran, self_post_inside;
static struct message messages[THREADS][PER_THREAD + 1];

static void on_message(void *arg)
{
	struct message *m = arg;
	if (!pthread_equal(pthread_self(), loop_thread))
		wrong_thread++;
	if (m->seq >= 0) {
		received++;
		if (m->seq != next_seq[m->thread])
			out_of_order++;
		next_seq[m->thread] = m->seq + 1;
		return;
	}
	if (++done_threads < THREADS)
		return;
	for (int i = 0; i < THREADS; i++)
		pthread_join(workers[i], NULL); /* each has posted its last message already */
	printf("received %d posts from %d threads\n", received, THREADS);
	CHECK("all posts ran once", received == THREADS * PER_THREAD, "%d", received);
	CHECK("each thread's posts in order", out_of_order == 0, "%d out of order", out_of_order);
	CHECK("posts ran on the loop's thread", wrong_thread == 0, "%d elsewhere", wrong_thread);
	CHECK("a post from the loop's thread ran after OS_start",
	      self_post_ran && !self_post_inside, "%d %d", self_post_ran, self_post_inside);
	if (check_status())
		os_shutdown(1);
	os_release();
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (int i = 0; i <= PER_THREAD; i++) {
		messages[t][i].thread = t;
		messages[t][i].seq = i < PER_THREAD ? i : -1;
		int rc = os_post(on_message, &messages[t][i]);
		if (rc < 0) {
			printf("os_post: FAIL (%d)\n", rc);
			os_shutdown(1);
			return NULL;
		}
		if (i % 100 == 0)
			sched_yield(); /* interleave with the loop and the other posters */
	}
	return NULL;
}

static void on_self_post(void *arg)
{
	(void)arg;
	self_post_ran = true;
	self_post_inside = in_start;
}

void OS_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	in_start = true;
	loop_thread = pthread_self();
	os_hold();
	os_post(on_self_post, NULL);
	for (int i = 0; i < THREADS; i++) {
		if (pthread_create(&workers[i], NULL, worker, (void *)(intptr_t)i) != 0) {
			printf("pthread_create: FAIL\n");
			os_shutdown(1);
			return;
		}
	}
	printf("started %d posting threads\n", THREADS);
	in_start = false;
}
