/* Guest-only: 1,000 threads created and joined give every page back. sysinfo's freeram is
 * exact on Kiln (it counts free frames), so it must be the same before and after, once a
 * few warm-up threads have made the page tables and allocator caches they need. */
#include <pthread.h>
#include <stdio.h>
#include <sys/sysinfo.h>

static void *nothing(void *arg) { return arg; }

static unsigned long free_ram(void) {
    struct sysinfo si;
    sysinfo(&si);
    return si.freeram * si.mem_unit;
}

int main(void) {
    pthread_t t;
    for (int i = 0; i < 20; i++) {
        pthread_create(&t, NULL, nothing, NULL);
        pthread_join(t, NULL);
    }
    unsigned long before = free_ram();
    for (int i = 0; i < 1000; i++) {
        if (pthread_create(&t, NULL, nothing, NULL) != 0) {
            printf("pthread_create failed at %d\n", i);
            return 1;
        }
        pthread_join(t, NULL);
    }
    unsigned long after = free_ram();
    printf("free before %lu after %lu\n", before, after);
    printf("memory back where it started: %d\n", before == after);
    return before == after ? 0 : 1;
}
