/* The attacks of the security checklist (tests/security.rs), one per run: `attacks MODE [HEX]`.
 * Each faulting mode prints what it is about to do, then does it; reaching "survived" means
 * a mitigation failed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef int (*fn_int)(void);

/* mov eax, 42; ret */
static const unsigned char RET42[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};

/* In .data (initialized, written at run time so it cannot become rodata; must not be
 * executable). */
static unsigned char data_code[64] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};

/* NULL, opaque to the optimizer (a visible NULL dereference may be compiled to a trap). */
static int *volatile null_ptr;

__attribute__((noinline)) int kiln_test_call(void *code) {
    return ((fn_int)code)();
}

/* Points rsp 256 bytes above `bottom` and pushes until something stops it (interrupts off, so
 * only a fault can). */
__attribute__((noinline)) void kiln_test_overflow(unsigned long bottom) {
    __asm__ volatile("cli\n"
                     "mov %0, %%rsp\n"
                     "1: push %%rax\n"
                     "jmp 1b\n"
                     :
                     : "r"(bottom + 256)
                     : "memory");
}

static int say(const char *what) {
    printf("%s\n", what);
    fflush(stdout);
    return 0;
}

static unsigned long hex_arg(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: attacks overflow HEX\n");
        exit(2);
    }
    return strtoul(argv[2], NULL, 16);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "read0")) {
        say("reading address 0");
        printf("survived: %d\n", *(volatile int *)null_ptr);
    } else if (!strcmp(mode, "write0")) {
        say("writing address 0");
        *(volatile int *)null_ptr = 1;
        say("survived the write to address 0");
    } else if (!strcmp(mode, "exec_data")) {
        data_code[63] = (unsigned char)argc;
        printf("executing a data page at %p\n", (void *)data_code);
        fflush(stdout);
        printf("survived: %d\n", kiln_test_call(data_code));
    } else if (!strcmp(mode, "exec_malloc")) {
        unsigned char *p = malloc(64);
        memcpy(p, RET42, sizeof RET42);
        printf("executing the malloc heap at %p\n", (void *)p);
        fflush(stdout);
        printf("survived: %d\n", kiln_test_call(p));
    } else if (!strcmp(mode, "exec_brk")) {
        /* musl's sbrk/brk refuse to move the break; the raw syscall does. */
        unsigned long base = syscall(SYS_brk, 0);
        if (syscall(SYS_brk, base + 8192) != (long)(base + 8192)) {
            say("brk did not grow");
            return 1;
        }
        memcpy((void *)base, RET42, sizeof RET42);
        printf("executing the brk heap at %#lx\n", base);
        fflush(stdout);
        printf("survived: %d\n", kiln_test_call((void *)base));
    } else if (!strcmp(mode, "exec_mmap")) {
        void *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memcpy(p, RET42, sizeof RET42);
        printf("executing an anonymous mapping at %p\n", p);
        fflush(stdout);
        printf("survived: %d\n", kiln_test_call(p));
    } else if (!strcmp(mode, "overflow")) {
        /* Everything runs in ring 0, so the program can do what a runaway runtime function
         * would: run a stack of the runtime (whose lowest address is HEX) past its bottom. */
        unsigned long bottom = hex_arg(argc, argv);
        printf("overflowing the stack at %#lx\n", bottom);
        fflush(stdout);
        kiln_test_overflow(bottom);
        say("survived the stack overflow");
    } else if (!strcmp(mode, "flip")) {
        /* A JIT's cycle: write code into RW memory, flip it to RX, run it; W+X is refused;
         * writing to the RX page faults. */
        unsigned char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("mmap RW failed: %s\n", strerror(errno));
            return 1;
        }
        memcpy(p, RET42, sizeof RET42);
        if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0) {
            printf("mprotect RX failed: %s\n", strerror(errno));
            return 1;
        }
        printf("flip: %d\n", kiln_test_call(p));
        int rc = mprotect(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
        printf("mprotect rwx: %s\n", rc == 0 ? "ok" : strerror(errno));
        void *q = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("mmap rwx: %s\n", q != MAP_FAILED ? "ok" : strerror(errno));
        printf("writing the RX page at %p\n", (void *)p);
        fflush(stdout);
        p[0] = 0xc3;
        say("survived the write to an RX page");
    } else if (!strcmp(mode, "efault")) {
        /* Syscalls check the program's pointers: bad ones are EFAULT, not a fault in the
         * runtime, and the runtime never reads or writes its own memory on their behalf. */
        long r;
        errno = 0;
        r = write(1, null_ptr, 10);
        printf("write from NULL: %ld %s\n", r, strerror(errno));
        errno = 0;
        r = syscall(SYS_getrandom, (void *)&kiln_test_call, 16, 0);
        printf("getrandom into text: %ld %s\n", r, strerror(errno));
        errno = 0;
        r = write(1, (void *)0x400000001000UL, 16); /* a runtime (IST) stack */
        printf("write from a runtime stack: %ld %s\n", r, strerror(errno));
        errno = 0;
        r = syscall(SYS_clock_gettime, 0, (void *)0x400000001000UL);
        printf("clock_gettime into a runtime stack: %ld %s\n", r, strerror(errno));
    } else if (!strcmp(mode, "wx")) {
        /* With kiln.wx=allow: one writable and executable mapping, written and run. */
        unsigned char *p = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("mmap rwx: %s\n", strerror(errno));
            return 1;
        }
        memcpy(p, RET42, sizeof RET42);
        printf("wx: %d\n", kiln_test_call(p));
    } else {
        fprintf(stderr, "unknown mode '%s'\n", mode);
        return 2;
    }
    return 0;
}
