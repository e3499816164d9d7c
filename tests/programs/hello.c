/* The smallest image: one line, status 0. */
#include <stdio.h>

int main(void) {
    printf("hello from a kiln test image\n");
    return 0;
}
