#include <stdio.h>

int main(void) {
    printf("quick %d\n", QUICK_VALUE);
    return 0;
}
