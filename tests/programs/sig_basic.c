/* Signal handlers on one thread: SA_SIGINFO's siginfo_t and ucontext_t, masks and pending
 * sets, merging of standard signals and queueing of real-time ones, SA_RESETHAND,
 * SA_NODEFER, sa_mask, SIG_IGN, sigsuspend, sigwaitinfo/sigtimedwait, and that the
 * interrupted code's FPU state (registers and MXCSR) survives a handler that changes it.
 * Compared with Linux by tests/diff.rs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fenv.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t count, depth, max_depth, raises, runs;
static int last_signo, last_code, last_pid_ok, last_value, in_mask_self, in_uc_mask_self;
static int order[16], norder;

static void on_info(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	sigset_t now;
	count++;
	last_signo = si->si_signo;
	last_code = si->si_code;
	last_pid_ok = si->si_pid == getpid() && si->si_uid == getuid();
	last_value = si->si_value.sival_int;
	sigprocmask(SIG_BLOCK, NULL, &now);
	in_mask_self = sigismember(&now, sig);
	in_uc_mask_self = sigismember(&uc->uc_sigmask, sig);
	if (norder < 16)
		order[norder++] = sig * 100 + (si->si_code == SI_QUEUE ? si->si_value.sival_int : 0);
}

/* Raises its own signal twice: nested with SA_NODEFER, one after another without. */
static void on_nested(int sig)
{
	runs++;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (raises < 2) {
		raises++;
		raise(sig);
	}
	depth--;
}

static int masked_seen;
static void on_check_mask(int sig)
{
	sigset_t now;
	(void)sig;
	sigprocmask(SIG_BLOCK, NULL, &now);
	masked_seen = sigismember(&now, SIGUSR2) && sigismember(&now, SIGHUP);
}

/* The handler clobbers floating-point registers and the rounding mode. */
static volatile double sink;
static void on_float(int sig)
{
	(void)sig;
	fesetround(FE_UPWARD);
	double a = 1.0;
	for (int i = 0; i < 50; i++)
		a = a * 1.1 + 0.3;
	sink = a;
	count++;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		perror("sigaction");
}

static const char *code_name(int code)
{
	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_TKILL: return "SI_TKILL";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_KERNEL: return "SI_KERNEL";
	default: return "other";
	}
}

int main(void)
{
	sigset_t set, old, pend;

	/* raise: SI_TKILL; the signal is blocked in its handler but not in the saved mask. */
	install(SIGUSR1, on_info, 0);
	raise(SIGUSR1);
	printf("raise: count %d signo %d code %s sender ok %d masked in handler %d in uc_sigmask %d\n",
	       count, last_signo, code_name(last_code), last_pid_ok, in_mask_self, in_uc_mask_self);

	/* kill: SI_USER with the sender's pid and uid. */
	install(SIGUSR2, on_info, 0);
	kill(getpid(), SIGUSR2);
	printf("kill: count %d signo %d code %s sender ok %d\n", count, last_signo,
	       code_name(last_code), last_pid_ok);

	/* sigqueue: SI_QUEUE and the value. */
	union sigval v = {.sival_int = 42};
	install(SIGRTMIN, on_info, 0);
	sigqueue(getpid(), SIGRTMIN, v);
	printf("sigqueue: count %d signo-SIGRTMIN %d code %s value %d\n", count,
	       last_signo - SIGRTMIN, code_name(last_code), last_value);

	/* Blocked: standard signals merge, real-time ones queue, lowest number first. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGRTMIN + 1);
	install(SIGRTMIN + 1, on_info, 0);
	sigprocmask(SIG_BLOCK, &set, &old);
	count = 0;
	norder = 0;
	raise(SIGUSR2);
	raise(SIGUSR2);
	raise(SIGUSR1);
	for (int i = 1; i <= 3; i++) {
		v.sival_int = i;
		sigqueue(getpid(), SIGRTMIN + 1, v);
		sigqueue(getpid(), SIGRTMIN, v);
	}
	sigpending(&pend);
	printf("pending: USR1 %d USR2 %d RTMIN %d RTMIN+1 %d TERM %d\n", sigismember(&pend, SIGUSR1),
	       sigismember(&pend, SIGUSR2), sigismember(&pend, SIGRTMIN),
	       sigismember(&pend, SIGRTMIN + 1), sigismember(&pend, SIGTERM));
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("unblocked: %d deliveries:", count);
	for (int i = 0; i < norder; i++) {
		int sig = order[i] / 100, val = order[i] % 100;
		if (sig >= SIGRTMIN)
			printf(" RTMIN+%d/%d", sig - SIGRTMIN, val);
		else
			printf(" %d", sig);
	}
	printf("\n");

	/* SA_RESETHAND: one delivery, then the default action again. */
	struct sigaction sa, q;
	install(SIGWINCH, on_info, SA_RESETHAND);
	count = 0;
	raise(SIGWINCH);
	sigaction(SIGWINCH, NULL, &q);
	printf("resethand: count %d now default %d\n", count, q.sa_handler == SIG_DFL);
	raise(SIGWINCH); /* default: ignored */

	/* SA_NODEFER: the handler can be entered again from inside itself. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_nested;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGURG, &sa, NULL);
	raise(SIGURG);
	printf("nodefer: runs %d max depth %d\n", runs, max_depth);
	sa.sa_flags = 0;
	max_depth = runs = raises = 0;
	sigaction(SIGURG, &sa, NULL);
	raise(SIGURG);
	printf("deferred: runs %d max depth %d\n", runs, max_depth);

	/* sa_mask is blocked while the handler runs. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_check_mask;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaction(SIGCONT, &sa, NULL);
	raise(SIGCONT);
	sigprocmask(SIG_BLOCK, NULL, &set);
	printf("sa_mask: blocked in handler %d, after %d\n", masked_seen, sigismember(&set, SIGHUP));

	/* SIG_IGN drops the signal, and setting it drops a pending one. */
	signal(SIGUSR1, SIG_IGN);
	raise(SIGUSR1);
	install(SIGUSR1, on_info, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	signal(SIGUSR1, SIG_IGN);
	sigpending(&pend);
	printf("ignored: pending after SIG_IGN %d\n", sigismember(&pend, SIGUSR1));
	install(SIGUSR1, on_info, 0);

	/* sigsuspend: waits with the given mask, returns EINTR after the handler, restores. */
	count = 0;
	raise(SIGUSR1);
	sigemptyset(&set);
	int r = sigsuspend(&set);
	int e = errno;
	sigprocmask(SIG_BLOCK, NULL, &set);
	printf("sigsuspend: %d %s count %d still blocked %d\n", r, e == EINTR ? "EINTR" : "?", count,
	       sigismember(&set, SIGUSR1));

	/* sigwaitinfo takes a blocked pending signal without its handler. */
	count = 0;
	v.sival_int = 7;
	sigqueue(getpid(), SIGUSR1, v);
	siginfo_t si;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	int got = sigwaitinfo(&set, &si);
	printf("sigwaitinfo: %d code %s value %d handler ran %d\n", got, code_name(si.si_code),
	       si.si_value.sival_int, count);
	struct timespec ts = {0, 20 * 1000 * 1000};
	r = sigtimedwait(&set, &si, &ts);
	printf("sigtimedwait: %d %s\n", r, r < 0 && errno == EAGAIN ? "EAGAIN" : "?");
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	/* The interrupted code's FPU state survives: a handler that changes registers and the
	 * rounding mode runs between two halves of a computation. */
	signal(SIGUSR2, on_float);
	count = 0;
	volatile double x = 1.0 / 3.0;
	double before = x * 3.0;
	raise(SIGUSR2);
	double after = x * 3.0;
	printf("fpu: handler ran %d, same result %d, rounding to nearest %d\n", count,
	       before == after, fegetround() == FE_TONEAREST);

	printf("done\n");
	return 0;
}
