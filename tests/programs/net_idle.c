/* Stays up for argv[1] seconds (default 20) so the network tests can ping the guest, which
 * the runtime serves while the program sleeps; then exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    int seconds = argc > 1 ? atoi(argv[1]) : 20;
    printf("net_idle: up for %d s\n", seconds);
    fflush(stdout);
    struct timespec ts = {.tv_sec = seconds, .tv_nsec = 0};
    while (nanosleep(&ts, &ts) != 0) {
    }
    printf("net_idle: done\n");
    return 0;
}
