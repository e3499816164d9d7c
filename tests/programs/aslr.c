/* Prints where this boot put the main stack, the brk heap and the first mmap, and the
 * stack-protector canary (musl keeps it at %fs:0x28). tests/security.rs boots it 20 times. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    int local = 0;
    unsigned long canary;
    __asm__ volatile("mov %%fs:0x28, %0" : "=r"(canary));
    void *map = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return 1;
    printf("stack=%lx\n", (unsigned long)&local);
    printf("brk=%lx\n", (unsigned long)syscall(SYS_brk, 0));
    printf("mmap=%lx\n", (unsigned long)map);
    printf("canary=%016lx\n", canary);
    return local;
}
