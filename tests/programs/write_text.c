/* Writes into its own code: text pages must be read-only (CR0.WP). */
#include <stdio.h>

__attribute__((noinline)) int kiln_test_text_target(int x) {
    return x * 3 + 1;
}

__attribute__((noinline)) void kiln_test_write_text(void) {
    volatile char *code = (volatile char *)(void *)&kiln_test_text_target;
    *code = (char)0xc3;
}

int main(void) {
    printf("writing into text\n");
    fflush(stdout);
    kiln_test_write_text();
    printf("survived the write into text: %d\n", kiln_test_text_target(2));
    return 0;
}
