/* getrandom: full lengths and fresh bytes. Prints only booleans. Differential. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int main(void) {
    unsigned char a[64], b[64], big[4096];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    ssize_t ra = getrandom(a, sizeof a, 0);
    ssize_t rb = getrandom(b, sizeof b, 0);
    printf("getrandom_64_returned_64=%d\n", ra == 64 && rb == 64);
    printf("two_calls_differ=%d\n", memcmp(a, b, sizeof a) != 0);
    static const unsigned char zero[64];
    printf("not_all_zero=%d\n", memcmp(a, zero, sizeof a) != 0);
    printf("getrandom_0_returned_0=%d\n", getrandom(a, 0, 0) == 0);
    printf("nonblock_returned_16=%d\n", getrandom(a, 16, GRND_NONBLOCK) == 16);
    ssize_t rbig = getrandom(big, sizeof big, 0);
    int counts[256] = {0}, distinct = 0;
    for (ssize_t i = 0; i < rbig; i++)
        counts[big[i]]++;
    for (int i = 0; i < 256; i++)
        distinct += counts[i] > 0;
    printf("getrandom_4096_returned_4096=%d\n", rbig == 4096);
    printf("bytes_look_random=%d\n", distinct > 200);
    return 0;
}
