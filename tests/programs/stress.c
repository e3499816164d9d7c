/*
 * stress SECONDS: the kernel under a mixed load for SECONDS seconds (issue 23), printed as
 * facts so Linux and Kiln agree. At once:
 *  - two threads run overlapping memmoves (backward: musl's `std; rep movsb; cld`, and
 *    forward) over 64 KiB and check every result;
 *  - a thread futex-waits with 1 ms timeouts while another wakes it now and then;
 *  - a thread creates and joins short-lived threads (each allocates, copies and frees);
 *  - a thread opens TCP connections over 127.0.0.1 to a listener served by another, sends a
 *    checked message each way, and closes them, every other one with a reset
 *    (SO_LINGER {1, 0});
 * tests/diff.rs runs a short form (with the release and the debug kernel); bench/stress.sh
 * runs it for an hour.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { BUF = 64 * 1024, FUTEX_WAIT = 0, FUTEX_WAKE = 1 }; /* <linux/futex.h> is not in musl's headers */
static atomic_int stop;
static void *(*volatile move)(void *, const void *, size_t) = memmove;

struct counts {
	long rounds, errors;
};

static void *mover(void *arg)
{
	int backward = arg != NULL;
	unsigned char *buf = malloc(BUF);
	static struct counts c[2];
	struct counts *me = &c[backward];
	while (!atomic_load(&stop)) {
		for (int i = 0; i < BUF; i++)
			buf[i] = (unsigned char)(i * 13 + me->rounds);
		if (backward)
			move(buf + 3, buf, BUF - 3);
		else
			move(buf, buf + 3, BUF - 3);
		for (int i = 0; i < BUF - 3; i += 61) {
			unsigned char want = backward ? (unsigned char)(i * 13 + me->rounds)
						      : (unsigned char)((i + 3) * 13 + me->rounds);
			me->errors += buf[backward ? i + 3 : i] != want;
		}
		me->rounds++;
	}
	free(buf);
	return me;
}

static atomic_int futex_word;
static struct counts futex_counts;

static void *futex_waiter(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		struct timespec t = {0, 1000000};
		long rc = syscall(SYS_futex, &futex_word, FUTEX_WAIT, 0, &t, NULL, 0);
		if (rc != 0 && errno != ETIMEDOUT && errno != EAGAIN && errno != EINTR)
			futex_counts.errors++;
		futex_counts.rounds++;
		atomic_store(&futex_word, 0);
	}
	return NULL;
}

static void *futex_waker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		atomic_store(&futex_word, 1);
		syscall(SYS_futex, &futex_word, FUTEX_WAKE, 1, NULL, NULL, 0);
		struct timespec t = {0, 3000000};
		nanosleep(&t, NULL);
	}
	return NULL;
}

static void *short_lived(void *arg)
{
	size_t n = 1000 + (size_t)(long)arg % 5000;
	char *a = malloc(n), *b = malloc(n);
	memset(a, (int)(long)arg, n);
	memcpy(b, a, n);
	long bad = memcmp(a, b, n) != 0;
	free(a);
	free(b);
	return (void *)bad;
}

static struct counts thread_counts;

static void *churner(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		pthread_t t[4];
		for (long i = 0; i < 4; i++)
			if (pthread_create(&t[i], NULL, short_lived, (void *)(thread_counts.rounds + i)) != 0)
				thread_counts.errors++;
		for (int i = 0; i < 4; i++) {
			void *bad;
			pthread_join(t[i], &bad);
			thread_counts.errors += bad != NULL;
		}
		thread_counts.rounds += 4;
	}
	return NULL;
}

static int listener;
static struct counts tcp_counts;

static void *tcp_server(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(listener, NULL, NULL);
		if (c < 0)
			break; /* the listener was shut down */
		char buf[64];
		ssize_t n = read(c, buf, sizeof buf);
		if (n > 0 && write(c, buf, (size_t)n) != n)
			tcp_counts.errors++;
		close(c);
	}
	return NULL;
}

static void *tcp_client(void *arg)
{
	unsigned short port = (unsigned short)(long)arg;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (!atomic_load(&stop)) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		char msg[32], back[32];
		int len = snprintf(msg, sizeof msg, "message %ld", tcp_counts.rounds);
		if (connect(c, (struct sockaddr *)&to, sizeof to) != 0 || write(c, msg, (size_t)len) != len
		    || read(c, back, sizeof back) != len || memcmp(msg, back, (size_t)len) != 0)
			tcp_counts.errors++;
		if (tcp_counts.rounds % 2) {
			struct linger reset = {1, 0};
			setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
		}
		close(c);
		tcp_counts.rounds++;
	}
	return NULL;
}

static void fact(const char *what, const struct counts *c, long at_least)
{
	printf("%s: ", what);
	if (c->errors == 0 && c->rounds >= at_least)
		printf("ok\n");
	else
		printf("%ld errors in %ld rounds\n", c->errors, c->rounds);
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 5;
	signal(SIGPIPE, SIG_IGN);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in at = {.sin_family = AF_INET};
	at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof at;
	if (bind(listener, (struct sockaddr *)&at, sizeof at) != 0 || listen(listener, 64) != 0
	    || getsockname(listener, (struct sockaddr *)&at, &len) != 0) {
		perror("listener");
		return 1;
	}
	pthread_t t[7];
	pthread_create(&t[0], NULL, mover, NULL);
	pthread_create(&t[1], NULL, mover, (void *)1);
	pthread_create(&t[2], NULL, futex_waiter, NULL);
	pthread_create(&t[3], NULL, futex_waker, NULL);
	pthread_create(&t[4], NULL, churner, NULL);
	pthread_create(&t[5], NULL, tcp_server, NULL);
	pthread_create(&t[6], NULL, tcp_client, (void *)(long)ntohs(at.sin_port));
	struct timespec run = {seconds, 0};
	nanosleep(&run, NULL);
	atomic_store(&stop, 1);
	struct counts *fwd, *back;
	pthread_join(t[0], (void **)&fwd);
	pthread_join(t[1], (void **)&back);
	for (int i = 2; i <= 4; i++)
		pthread_join(t[i], NULL);
	pthread_join(t[6], NULL);
	shutdown(listener, SHUT_RDWR);
	close(listener);
	pthread_join(t[5], NULL);

	fact("forward memmoves", fwd, 1);
	fact("backward memmoves", back, 1);
	fact("futex waits", &futex_counts, 1);
	fact("threads created and joined", &thread_counts, 4);
	fact("tcp connections", &tcp_counts, 1);
	return 0;
}
