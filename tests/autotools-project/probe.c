#include "config.h"
#include <stdio.h>

int main(void) {
    printf("configured %s: long is %d bytes\n", PACKAGE_STRING, SIZEOF_LONG);
#if defined(HAVE_GETRANDOM) && defined(HAVE_EPOLL_CREATE1) && defined(HAVE_SYS_EPOLL_H)
    puts("getrandom and epoll found");
#endif
#ifdef WORDS_BIGENDIAN
    puts("big endian");
#else
    puts("little endian");
#endif
#ifdef GETRANDOM_FILLS
    puts("configure ran getrandom");
#endif
    printf("configure ran strtod: %s\n", STRTOD_VALUE);
    return 0;
}
