/* Jumps into a stack buffer holding `ret`: the stack must be no-execute (EFER.NXE). */
#include <stdio.h>

typedef void (*thunk)(void);

__attribute__((noinline)) void kiln_test_exec_stack(void) {
    volatile unsigned char code[16];
    code[0] = 0xc3; /* ret */
    thunk f = (thunk)(void *)code;
    f();
}

int main(void) {
    printf("jumping into the stack\n");
    fflush(stdout);
    kiln_test_exec_stack();
    printf("survived executing the stack\n");
    return 0;
}
