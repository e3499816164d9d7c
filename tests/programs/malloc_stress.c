/* malloc/realloc/free stress with a fixed seed: many sizes, realloc growth, frees in random
 * order, blocks of 1 MiB and more (musl serves those with mmap), contents checked. Differential:
 * prints only counts, checksums and booleans. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x2545f4914f6cdd1dULL;
static uint64_t next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

enum { SLOTS = 512, ROUNDS = 40000 };

struct slot {
    unsigned char *p;
    size_t size;
    unsigned char seed;
};

static struct slot slots[SLOTS];
static uint64_t checksum = 0;
static int bad = 0, misaligned = 0;

static size_t pick_size(void) {
    uint64_t r = next() % 1000;
    if (r < 700)
        return 1 + next() % 256;
    if (r < 950)
        return 257 + next() % 16384;
    if (r < 994)
        return 16385 + next() % 200000;
    return (1u << 20) + next() % (1u << 20); /* 1..2 MiB: mmap */
}

static void fill(unsigned char *p, size_t from, size_t to, unsigned char seed) {
    for (size_t i = from; i < to; i++)
        p[i] = (unsigned char)(seed + i * 7 + (i >> 8));
}

static void check(const struct slot *s, size_t upto) {
    for (size_t i = 0; i < upto; i++) {
        unsigned char want = (unsigned char)(s->seed + i * 7 + (i >> 8));
        if (s->p[i] != want) {
            bad++;
            return;
        }
        checksum = checksum * 1099511628211ULL + s->p[i];
    }
}

int main(void) {
    unsigned long mallocs = 0, reallocs = 0, frees = 0, big = 0;
    for (int round = 0; round < ROUNDS; round++) {
        struct slot *s = &slots[next() % SLOTS];
        if (!s->p) {
            s->size = pick_size();
            s->seed = (unsigned char)next();
            s->p = malloc(s->size);
            if (!s->p) {
                printf("malloc(%zu) failed\n", s->size);
                return 1;
            }
            mallocs++;
            big += s->size >= (1u << 20);
            misaligned += ((uintptr_t)s->p & 15) != 0;
            fill(s->p, 0, s->size, s->seed);
        } else if (next() % 3 == 0) {
            size_t size = pick_size();
            check(s, size < s->size ? size : s->size);
            unsigned char *p = realloc(s->p, size);
            if (!p) {
                printf("realloc(%zu) failed\n", size);
                return 1;
            }
            s->p = p;
            reallocs++;
            big += size >= (1u << 20);
            misaligned += ((uintptr_t)p & 15) != 0;
            if (size > s->size)
                fill(p, s->size, size, s->seed);
            s->size = size;
            check(s, s->size);
        } else {
            check(s, s->size);
            free(s->p);
            s->p = NULL;
            frees++;
        }
    }
    /* Free what is left in a random order. */
    for (int left = SLOTS; left > 0; left--) {
        size_t i = next() % SLOTS;
        while (!slots[i].p && left > 0) {
            i = (i + 1) % SLOTS;
            if (i == 0)
                break;
        }
        if (slots[i].p) {
            check(&slots[i], slots[i].size);
            free(slots[i].p);
            slots[i].p = NULL;
            frees++;
        }
    }
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p) {
            check(&slots[i], slots[i].size);
            free(slots[i].p);
            slots[i].p = NULL;
            frees++;
        }

    /* One block grown by doubling from 1 byte to 8 MiB, contents kept. */
    struct slot grow = {malloc(1), 1, 0x5a};
    fill(grow.p, 0, 1, grow.seed);
    int grow_ok = grow.p != NULL;
    for (size_t size = 2; grow_ok && size <= (8u << 20); size *= 2) {
        unsigned char *p = realloc(grow.p, size);
        if (!p) {
            grow_ok = 0;
            break;
        }
        grow.p = p;
        fill(p, grow.size, size, grow.seed);
        grow.size = size;
    }
    int bad_before = bad;
    check(&grow, grow.size);
    grow_ok = grow_ok && bad == bad_before;
    free(grow.p);

    size_t zn = 3 << 20;
    unsigned char *z = calloc(zn, 1);
    int zero_ok = z != NULL;
    for (size_t i = 0; z && i < zn; i++)
        zero_ok &= z[i] == 0;
    free(z);

    printf("mallocs=%lu reallocs=%lu frees=%lu big=%lu\n", mallocs, reallocs, frees, big);
    printf("contents_ok=%d aligned=%d grow_ok=%d calloc_zero=%d\n", bad == 0, misaligned == 0,
           grow_ok, zero_ok);
    printf("checksum=%016llx\n", (unsigned long long)checksum);
    return bad != 0;
}
