/* Calls a syscall the runtime does not implement, twice: -1/ENOSYS each time. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void call_acct(int attempt) {
    errno = 0;
    long r = syscall(SYS_acct, 0);
    int e = errno;
    printf("acct attempt %d: result=%ld errno=%s\n", attempt, r, e == ENOSYS ? "ENOSYS" : strerror(e));
    fflush(stdout);
}

int main(void) {
    call_acct(1);
    call_acct(2);
    return 0;
}
