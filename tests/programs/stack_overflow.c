/* Unbounded recursion: the stack must end in a guard page, not in other memory. */
#include <stdio.h>

#pragma clang diagnostic ignored "-Winfinite-recursion"

__attribute__((noinline)) unsigned long kiln_test_recurse(unsigned long depth) {
    volatile char pad[512];
    pad[0] = (char)depth;
    pad[511] = (char)(depth >> 8);
    /* Not a tail call: the sum needs this frame after the call returns. */
    return kiln_test_recurse(depth + 1) + (unsigned char)pad[depth % 512];
}

int main(void) {
    printf("recursing without end\n");
    fflush(stdout);
    unsigned long r = kiln_test_recurse(0);
    printf("survived unbounded recursion: %lu\n", r);
    return 0;
}
