/* qsort and bsearch over integers, strings and structs. Differential. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct rec {
    int key;
    char name[12];
};

static int cmp_rec(const void *a, const void *b) {
    const struct rec *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return strcmp(x->name, y->name);
}

int main(void) {
    enum { N = 5000 };
    static int v[N];
    for (int i = 0; i < N; i++)
        v[i] = (int)(next() % 20001) - 10000;
    qsort(v, N, sizeof v[0], cmp_int);
    int sorted = 1;
    uint64_t sum = 0;
    for (int i = 0; i < N; i++) {
        if (i && v[i - 1] > v[i])
            sorted = 0;
        sum = sum * 31 + (uint64_t)(int64_t)v[i];
    }
    printf("ints sorted=%d checksum=%016llx min=%d max=%d median=%d\n", sorted,
           (unsigned long long)sum, v[0], v[N - 1], v[N / 2]);
    const int keys[] = {v[0], v[N / 3], v[N / 2], v[N - 1], -10001, 10001, 0, 1, 77, 5000};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int *hit = bsearch(&keys[i], v, N, sizeof v[0], cmp_int);
        printf("bsearch %d: %s\n", keys[i], hit ? (*hit == keys[i] ? "found" : "WRONG") : "absent");
    }

    const char *words[] = {"pear", "apple", "fig", "banana", "cherry", "date", "apple", "kiwi",
                           "Zebra", "", "a", "ab", "abc", "elderberry", "grape"};
    size_t nw = sizeof words / sizeof words[0];
    qsort(words, nw, sizeof words[0], cmp_str);
    printf("words:");
    for (size_t i = 0; i < nw; i++)
        printf(" [%s]", words[i]);
    printf("\n");
    const char *key = "date";
    const char **w = bsearch(&key, words, nw, sizeof words[0], cmp_str);
    printf("bsearch date: %s\n", w ? *w : "absent");

    enum { R = 700 };
    static struct rec recs[R];
    for (int i = 0; i < R; i++) {
        recs[i].key = (int)(next() % 50);
        snprintf(recs[i].name, sizeof recs[i].name, "r%llu", (unsigned long long)(next() % 100000));
    }
    qsort(recs, R, sizeof recs[0], cmp_rec);
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < R; i++) {
        for (const char *p = recs[i].name; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ (uint64_t)recs[i].key) * 1099511628211ULL;
    }
    printf("records first=%d/%s last=%d/%s hash=%016llx\n", recs[0].key, recs[0].name,
           recs[R - 1].key, recs[R - 1].name, (unsigned long long)h);
    qsort(v, 0, sizeof v[0], cmp_int);
    printf("empty qsort ok\n");
    return 0;
}
