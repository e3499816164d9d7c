/* CPU faults to handlers: a SIGSEGV handler that siglongjmps out of a NULL read (si_addr,
 * SEGV_MAPERR), a write to read-only memory (SEGV_ACCERR) whose handler fixes the mapping and
 * returns so the write is retried, SIGFPE from an integer division by zero (FPE_INTDIV),
 * SIGILL from ud2 (ILL_ILLOPN), SIGBUS past the end of a mapped file (BUS_ADRERR), the fault's
 * registers in the ucontext, and the signal mask restored by siglongjmp. Compared with Linux
 * by tests/diff.rs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int got_sig, got_code;
static volatile uintptr_t got_addr, got_rip;
static char *page;

static void jump_out(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = (uintptr_t)si->si_addr;
	got_rip = uc->uc_mcontext.gregs[REG_RIP];
	siglongjmp(env, 1);
}

/* Makes the page writable and returns: the faulting write is retried and succeeds. */
static void fix_mapping(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = (uintptr_t)si->si_addr;
	mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

static void on(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static const char *name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGILL: return "SIGILL";
	default: return "?";
	}
}

static int segv_masked(void)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	return sigismember(&now, SIGSEGV);
}

__attribute__((noinline)) static int divide(volatile int a, volatile int b)
{
	return a / b;
}

int main(void)
{
	on(SIGSEGV, jump_out);
	volatile int *null = NULL;
	for (int round = 0; round < 3; round++) {
		got_sig = 0;
		if (sigsetjmp(env, 1) == 0) {
			int v = *null;
			printf("read %d?\n", v);
		}
		printf("null read %d: %s code %s addr %#lx mask restored %d\n", round, name(got_sig),
		       got_code == SEGV_MAPERR ? "SEGV_MAPERR" : "?", (unsigned long)got_addr,
		       !segv_masked());
	}

	/* A write to a read-only page: SEGV_ACCERR at the page; the handler fixes it. */
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	on(SIGSEGV, fix_mapping);
	got_sig = 0;
	page[100] = 'x';
	printf("read-only write: %s code %s addr is the byte %d, value now %c\n", name(got_sig),
	       got_code == SEGV_ACCERR ? "SEGV_ACCERR" : "?", got_addr == (uintptr_t)&page[100],
	       page[100]);

	/* Integer division by zero: SIGFPE, FPE_INTDIV, at the dividing instruction. */
	on(SIGFPE, jump_out);
	got_sig = 0;
	if (sigsetjmp(env, 1) == 0)
		printf("quotient %d?\n", divide(7, 0));
	printf("division: %s code %s addr is the rip %d\n", name(got_sig),
	       got_code == FPE_INTDIV ? "FPE_INTDIV" : "?", got_addr == got_rip);

	/* ud2: SIGILL, ILL_ILLOPN. */
	on(SIGILL, jump_out);
	got_sig = 0;
	if (sigsetjmp(env, 1) == 0)
		__asm__ volatile("ud2");
	printf("ud2: %s code %s addr is the rip %d\n", name(got_sig),
	       got_code == ILL_ILLOPN ? "ILL_ILLOPN" : "?", got_addr == got_rip);

	/* Touching a file mapping past the end of the file: SIGBUS, BUS_ADRERR. */
	int fd = open("/tmp/sig_faults.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "short", 5) != 5)
		perror("file");
	char *view = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
	on(SIGBUS, jump_out);
	got_sig = 0;
	if (sigsetjmp(env, 1) == 0)
		printf("past end %d?\n", view[2 * 4096]);
	printf("past end: %s code %s addr ok %d first byte %c\n", name(got_sig),
	       got_code == BUS_ADRERR ? "BUS_ADRERR" : "?",
	       got_addr == (uintptr_t)&view[2 * 4096], view[0]);
	close(fd);
	unlink("/tmp/sig_faults.dat");

	/* A fault while its signal is blocked is fatal even with a handler (tested by the
	 * default-status program); here: the handler still works after all of the above. */
	on(SIGSEGV, jump_out);
	got_sig = 0;
	if (sigsetjmp(env, 1) == 0)
		*(volatile int *)8 = 1;
	printf("write to page 0: %s addr %#lx\n", name(got_sig), (unsigned long)got_addr);
	printf("done\n");
	return 0;
}
