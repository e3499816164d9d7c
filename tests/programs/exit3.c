/* main's return value is the VM's exit status. */
#include <stdio.h>

int main(void) {
    printf("returning 3\n");
    return 3;
}
