/* A protected function overflows a local buffer; the canary check must catch it. */
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) void kiln_test_smash(const char *src, size_t n) {
    char buf[16];
    memcpy(buf, src, n);
    printf("copied %zu bytes, first %c\n", n, buf[0]);
}

int main(int argc, char **argv) {
    (void)argv;
    char source[128];
    memset(source, 'A', sizeof source);
    printf("overflowing a stack buffer\n");
    fflush(stdout);
    /* The length depends on argc so the compiler cannot see the overflow. */
    kiln_test_smash(source, 16 + 96 * (size_t)(argc > 0));
    printf("survived the stack smash\n");
    return 0;
}
