#include <stdio.h>
#include <sys/utsname.h>
int main(void) {
    struct utsname u;
    uname(&u);
    printf("probe ran in a VM: %s\n", u.sysname);
    return 42;
}
