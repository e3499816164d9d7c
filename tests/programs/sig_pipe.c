/* SIGPIPE as Linux raises it: a write to a pipe nobody reads, and to a stream socket (TCP
 * over loopback, AF_UNIX) whose sending side is shut, fails with EPIPE after the program's
 * handler ran, with SI_USER from the process itself; send/sendto/sendmsg with MSG_NOSIGNAL
 * and AF_UNIX seqpacket sockets give EPIPE alone; a blocked SIGPIPE stays pending for the
 * writing thread (not another thread that would take it) and runs when unblocked; a blocking
 * pipe write cut short by the reader's close returns what it wrote and still raises SIGPIPE.
 * Compared with Linux by tests/diff.rs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static volatile int caught;
static volatile int last_code, last_pid_is_ours, last_uid_is_ours;
static volatile pthread_t handled_by;

static void on_sigpipe(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig != SIGPIPE || si->si_signo != SIGPIPE)
		abort();
	caught++;
	last_code = si->si_code;
	last_pid_is_ours = si->si_pid == getpid();
	last_uid_is_ours = si->si_uid == getuid();
	handled_by = pthread_self();
}

static const char *result(long r)
{
	static char buf[64];
	if (r >= 0) {
		snprintf(buf, sizeof buf, "%ld", r);
		return buf;
	}
	return errno == EPIPE ? "EPIPE" : strerror(errno);
}

/* Prints what a write did and whether the handler ran (once, as SI_USER from ourselves). */
static void report(const char *what, long r)
{
	printf("%-34s %-6s handler ran %d", what, result(r), caught);
	if (caught)
		printf(" (si_code %s, si_pid ours %d, si_uid ours %d)",
		       last_code == SI_USER ? "SI_USER" : "other", last_pid_is_ours,
		       last_uid_is_ours);
	printf("\n");
	caught = 0;
}

static int pipe_without_reader(int p[2])
{
	if (pipe(p) < 0)
		return -1;
	close(p[0]);
	return p[1];
}

/* A connected TCP pair over loopback; the client's sending side is shut. */
static void tcp_pair(int *client, int *server, int *listener)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*listener = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(*listener, (struct sockaddr *)&a, sizeof a) < 0 || listen(*listener, 1) < 0 ||
	    getsockname(*listener, (struct sockaddr *)&a, &len) < 0) {
		perror("listener");
		exit(2);
	}
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*client, (struct sockaddr *)&a, sizeof a) < 0) {
		perror("connect");
		exit(2);
	}
	*server = accept(*listener, NULL, NULL);
	if (*server < 0) {
		perror("accept");
		exit(2);
	}
}

static void *other_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

struct reader {
	int fd;
	size_t take;
};

/* Reads `take` bytes, then closes the read end while the writer is still blocked. */
static void *short_reader(void *arg)
{
	struct reader *r = arg;
	static char buf[4096];
	size_t got = 0;
	while (got < r->take) {
		ssize_t n = read(r->fd, buf, sizeof buf);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(r->fd);
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigpipe;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	int p[2];
	long r;

	/* Pipes. */
	int w = pipe_without_reader(p);
	r = write(w, "x", 1);
	report("pipe write", r);
	struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
	r = writev(w, iov, 2);
	report("pipe writev", r);
	r = write(w, "", 0);
	report("pipe write of 0 bytes", r);
	close(w);

	/* TCP over loopback, after shutdown(SHUT_WR). */
	int c, s, l;
	tcp_pair(&c, &s, &l);
	shutdown(c, SHUT_WR);
	r = write(c, "x", 1);
	report("tcp write after SHUT_WR", r);
	r = send(c, "x", 1, 0);
	report("tcp send", r);
	r = send(c, "x", 1, MSG_NOSIGNAL);
	report("tcp send MSG_NOSIGNAL", r);
	r = sendto(c, "x", 1, 0, NULL, 0);
	report("tcp sendto", r);
	struct msghdr m;
	memset(&m, 0, sizeof m);
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	r = sendmsg(c, &m, 0);
	report("tcp sendmsg", r);
	r = sendmsg(c, &m, MSG_NOSIGNAL);
	report("tcp sendmsg MSG_NOSIGNAL", r);
	close(c);
	close(s);
	close(l);

	/* AF_UNIX: a stream socket raises it, a seqpacket socket does not. */
	int u[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, u);
	shutdown(u[0], SHUT_WR);
	r = write(u[0], "x", 1);
	report("unix stream write after SHUT_WR", r);
	r = send(u[0], "x", 1, MSG_NOSIGNAL);
	report("unix stream send MSG_NOSIGNAL", r);
	close(u[0]);
	r = write(u[1], "x", 1);
	report("unix stream write, peer closed", r);
	close(u[1]);
	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, u);
	shutdown(u[0], SHUT_WR);
	r = write(u[0], "x", 1);
	report("unix seqpacket write after SHUT_WR", r);
	close(u[0]);
	close(u[1]);

	/* Blocked: pending for the writing thread, not taken by another thread that does not
	 * block it; delivered when unblocked. */
	pthread_t t;
	pthread_create(&t, NULL, other_thread, NULL);
	sigset_t set, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	w = pipe_without_reader(p);
	r = write(w, "x", 1);
	report("pipe write, SIGPIPE blocked", r);
	usleep(50000);
	sigpending(&pending);
	printf("pending for the writer: %d, another thread took it: %d\n",
	       sigismember(&pending, SIGPIPE), caught);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	printf("after unblocking: handler ran %d, in the writer %d\n", caught,
	       caught && pthread_equal(handled_by, pthread_self()));
	caught = 0;
	close(w);

	/* A blocking write cut short: the reader takes 64 KiB of 1 MiB, then closes. */
	pipe(p);
	struct reader rd = {p[0], 65536};
	pthread_t rt;
	pthread_create(&rt, NULL, short_reader, &rd);
	size_t big = 1 << 20;
	char *data = calloc(1, big);
	r = write(p[1], data, big);
	printf("pipe write cut short: %s, handler ran %d\n",
	       r > 0 && r < (long)big ? "partial count" : result(r), caught);
	caught = 0;
	pthread_join(rt, NULL);
	r = write(p[1], "x", 1);
	report("pipe write after that", r);
	free(data);

	/* Ignored: EPIPE alone. */
	signal(SIGPIPE, SIG_IGN);
	r = write(p[1], "x", 1);
	report("pipe write, SIGPIPE ignored", r);
	return 0;
}
