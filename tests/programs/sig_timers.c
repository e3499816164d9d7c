/* Timers that send signals: setitimer/getitimer (ITIMER_REAL, periodic) and alarm, and POSIX
 * timers with SIGEV_SIGNAL (si_code, si_value, overruns), SIGEV_THREAD_ID (the chosen
 * thread's handler), SIGEV_THREAD (musl's helper thread calls the function), SIGEV_NONE,
 * absolute expiry, timer_gettime and the errors; a periodic timer expiring while the
 * program makes syscall after syscall. Counts and bounds, not timings, are printed. Compared with Linux by tests/diff.rs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static volatile pid_t handled_tid;
static void on_thread_timer(int sig)
{
	(void)sig;
	handled_tid = (pid_t)syscall(SYS_gettid);
}

static atomic_int thread_calls;
static atomic_int wrong_value;
static void notify(union sigval v)
{
	if (v.sival_int != 99)
		atomic_fetch_add(&wrong_value, 1);
	atomic_fetch_add(&thread_calls, 1);
}

static pid_t worker_tid;
static atomic_int worker_ready, worker_stop;
static void *worker_main(void *arg)
{
	(void)arg;
	worker_tid = (pid_t)syscall(SYS_gettid);
	atomic_store(&worker_ready, 1);
	while (!atomic_load(&worker_stop))
		usleep(1000);
	return NULL;
}

int main(void)
{
	struct timespec t0;
	sigset_t all, none, alrm;
	sigemptyset(&none);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);

	/* A periodic ITIMER_REAL: 10 SIGALRMs, 20 ms apart. */
	signal(SIGALRM, on_alarm);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	struct itimerval it = {{0, 20000}, {0, 20000}}, cur;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	setitimer(ITIMER_REAL, &it, NULL);
	while (alarms < 10)
		sigsuspend(&none);
	long took = ms_since(&t0);
	getitimer(ITIMER_REAL, &cur);
	printf("setitimer: %d SIGALRM, at least 9 periods passed %d, interval %ld us, armed %d\n",
	       (int)alarms, took >= 180, (long)cur.it_interval.tv_usec,
	       cur.it_value.tv_sec > 0 || cur.it_value.tv_usec > 0);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, &cur);
	getitimer(ITIMER_REAL, &cur);
	printf("disarmed: %ld %ld %ld %ld\n", (long)cur.it_interval.tv_sec,
	       (long)cur.it_interval.tv_usec, (long)cur.it_value.tv_sec,
	       (long)cur.it_value.tv_usec);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);

	/* alarm: the seconds the previous one had left. */
	printf("alarm: %u", alarm(5));
	printf(" %u", alarm(2));
	printf(" %u\n", alarm(0));

	/* SIGEV_SIGNAL: a real-time signal with its value, taken by sigwaitinfo. */
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &rt, NULL);
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN;
	sev.sigev_value.sival_int = 77;
	timer_t tm;
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm) != 0)
		perror("timer_create");
	struct itimerspec its = {{0, 10000000}, {0, 10000000}}, got;
	timer_settime(tm, 0, &its, NULL);
	int ok = 1;
	for (int i = 0; i < 5; i++) {
		siginfo_t si;
		if (sigwaitinfo(&rt, &si) != SIGRTMIN || si.si_code != SI_TIMER ||
		    si.si_value.sival_int != 77)
			ok = 0;
	}
	printf("timer_create SIGEV_SIGNAL: 5 signals, SI_TIMER and value 77 in each %d\n", ok);

	/* While the signal waits unread, expirations are overruns. */
	usleep(100000);
	siginfo_t si;
	sigwaitinfo(&rt, &si);
	printf("overruns: in siginfo at least 4 %d, timer_getoverrun agrees %d\n",
	       si.si_overrun >= 4, timer_getoverrun(tm) == si.si_overrun);
	timer_gettime(tm, &got);
	printf("gettime: interval %ld ns, left at most the interval %d\n", got.it_interval.tv_nsec,
	       got.it_value.tv_sec == 0 && got.it_value.tv_nsec <= 10000000);
	timer_delete(tm);
	printf("deleted: settime %s\n",
	       timer_settime(tm, 0, &its, NULL) < 0 && errno == EINVAL ? "EINVAL" : "?");
	/* A signal still pending from the deleted timer is gone too. */
	struct timespec zero = {0, 0};
	printf("deleted timer's signal: %s\n",
	       sigtimedwait(&rt, &si, &zero) < 0 && errno == EAGAIN ? "gone" : "still there");
	sigprocmask(SIG_UNBLOCK, &rt, NULL);

	/* No sigevent: SIGALRM with the timer's id as its value; absolute expiry. */
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	if (timer_create(CLOCK_MONOTONIC, NULL, &tm) != 0)
		perror("timer_create NULL");
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	now.tv_nsec += 30000000;
	if (now.tv_nsec >= 1000000000) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000;
	}
	struct itimerspec abs = {{0, 0}, now};
	timer_settime(tm, TIMER_ABSTIME, &abs, NULL);
	sigwaitinfo(&alrm, &si);
	printf("default sigevent: SIGALRM %d SI_TIMER %d value is the id %d\n", si.si_signo == SIGALRM,
	       si.si_code == SI_TIMER, si.si_value.sival_int == (int)(intptr_t)tm);
	timer_delete(tm);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);

	/* SIGEV_NONE: nothing is sent; gettime shows it running. */
	sev.sigev_notify = SIGEV_NONE;
	timer_create(CLOCK_REALTIME, &sev, &tm);
	struct itimerspec second = {{0, 0}, {1, 0}};
	timer_settime(tm, 0, &second, NULL);
	timer_gettime(tm, &got);
	printf("SIGEV_NONE: running %d\n", got.it_value.tv_sec == 0 && got.it_value.tv_nsec > 0);
	timer_delete(tm);

	/* SIGEV_THREAD_ID: the handler runs in the chosen thread. */
	pthread_t worker;
	pthread_create(&worker, NULL, worker_main, NULL);
	while (!atomic_load(&worker_ready))
		usleep(1000);
	signal(SIGUSR1, on_thread_timer);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_notify_thread_id = worker_tid;
	timer_create(CLOCK_MONOTONIC, &sev, &tm);
	struct itimerspec once = {{0, 0}, {0, 20000000}};
	timer_settime(tm, 0, &once, NULL);
	while (!handled_tid)
		usleep(1000);
	printf("SIGEV_THREAD_ID: handled in the worker %d\n", handled_tid == worker_tid);
	timer_delete(tm);
	atomic_store(&worker_stop, 1);
	pthread_join(worker, NULL);

	/* SIGEV_THREAD: musl's helper thread calls the function with the value. */
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = notify;
	sev.sigev_value.sival_int = 99;
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm) != 0)
		perror("timer_create SIGEV_THREAD");
	timer_settime(tm, 0, &its, NULL);
	while (atomic_load(&thread_calls) < 3)
		usleep(1000);
	timer_delete(tm);
	printf("SIGEV_THREAD: called at least 3 times %d, with the value %d\n",
	       atomic_load(&thread_calls) >= 3, atomic_load(&wrong_value) == 0);

	/* Errors. */
	printf("bad clock: %s\n", timer_create(12345, NULL, &tm) < 0 && errno == EINVAL ? "EINVAL" : "?");
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = 100;
	printf("bad signal: %s\n", timer_create(CLOCK_MONOTONIC, &sev, &tm) < 0 && errno == EINVAL ? "EINVAL" : "?");
	struct itimerval bad = {{0, 2000000}, {0, 0}};
	printf("bad itimerval: %s\n", setitimer(ITIMER_REAL, &bad, NULL) < 0 && errno == EINVAL ? "EINVAL" : "?");
	(void)all;

	/* A timer that expires while the program spends its time in syscalls (so the interrupt
	 * comes during one) still fires: 5 SIGALRMs 10 ms apart, only 1 MiB reads of /dev/zero
	 * meanwhile (SA_RESTART: a read the signal cuts short just returns less). */
	alarms = 0;
	struct sigaction restart;
	memset(&restart, 0, sizeof restart);
	restart.sa_handler = on_alarm;
	restart.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &restart, NULL);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	static char zeros[1 << 20];
	int zfd = open("/dev/zero", O_RDONLY);
	struct itimerval busy = {{0, 10000}, {0, 10000}};
	setitimer(ITIMER_REAL, &busy, NULL);
	int read_ok = zfd >= 0;
	while (read_ok && alarms < 5)
		read_ok = read(zfd, zeros, sizeof zeros) > 0;
	setitimer(ITIMER_REAL, &off, NULL);
	printf("timer during a loop of syscalls: at least 5 SIGALRMs %d, reads ok %d\n",
	       alarms >= 5, read_ok);
	if (zfd >= 0)
		close(zfd);
	printf("done\n");
	return 0;
}
