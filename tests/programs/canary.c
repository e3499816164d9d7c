/* Prints the stack-protector canary (musl keeps it at %fs:0x28) and the AT_RANDOM bytes. */
#include <stdio.h>
#include <sys/auxv.h>

int main(void) {
    unsigned long canary;
    __asm__ volatile("mov %%fs:0x28, %0" : "=r"(canary));
    printf("canary=%016lx\n", canary);
    const unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);
    if (!random) {
        printf("at_random=missing\n");
        return 1;
    }
    printf("at_random=");
    for (int i = 0; i < 16; i++)
        printf("%02x", random[i]);
    printf("\n");
    return 0;
}
