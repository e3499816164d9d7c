/* errno values of failing calls. Differential: the runtime must fail like Linux. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void report(const char *what, long result) {
    int e = errno;
    if (result == -1)
        printf("%s: -1 errno=%d (%s)\n", what, e, strerror(e));
    else
        printf("%s: succeeded with %ld\n", what, result);
}

int main(void) {
    char buf[8];
    errno = 0;
    report("open missing file", open("/kiln-no-such-dir/no-such-file", O_RDONLY));
    errno = 0;
    report("close bad fd", close(4242));
    errno = 0;
    report("read bad fd", read(4242, buf, sizeof buf));
    errno = 0;
    report("write bad fd", write(4242, "x", 1));
    errno = 0;
    report("write negative fd", write(-1, "x", 1));
    errno = 0;
    report("dup bad fd", dup(4242));
    errno = 0;
    struct timespec bad_ts = {0, 2000000000L};
    report("nanosleep bad nsec", nanosleep(&bad_ts, NULL));
    errno = 0;
    struct timespec ts;
    report("clock_gettime bad clock", clock_gettime((clockid_t)4242, &ts));
    errno = 0;
    report("munmap unaligned", munmap((void *)0x1001, 4096));
    errno = 0;
    void *p = mmap(NULL, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("mmap zero length", p == MAP_FAILED ? -1 : 0);
    errno = 0;
    p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 4242, 0);
    report("mmap of a bad fd", p == MAP_FAILED ? -1 : 0);
    errno = 0;
    report("mprotect unmapped", mprotect((void *)0x100000000000UL, 4096, PROT_READ));
    errno = 0;
    report("munmap zero length", munmap((void *)0x100000000000UL, 0));
    errno = 0;
    /* stdout is a pipe on the host and the console in the guest: neither can seek. */
    report("lseek stdout", (long)lseek(STDOUT_FILENO, 0, SEEK_SET));
    errno = 0;
    char small[1];
    report("getcwd too small", getcwd(small, sizeof small) == NULL ? -1 : 0);
    errno = 0;
    struct rlimit rl;
    report("getrlimit bad resource", getrlimit(4242, &rl));
    errno = 0;
    report("dup2 to negative fd", dup2(STDOUT_FILENO, -1));
    errno = 0;
    report("fcntl bad fd", fcntl(4242, F_GETFD));
    return 0;
}
