/* setjmp/longjmp, including through several frames and with live callee-saved state.
 * Differential. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf outer, inner;
static int trail[32], depth_seen;

__attribute__((noinline)) static void dive(int depth, int target) {
    volatile double local = depth * 1.5;
    trail[depth] = depth;
    depth_seen = depth;
    if (depth == target)
        longjmp(outer, depth * 10 + (int)local);
    dive(depth + 1, target);
    trail[depth] = -1; /* never reached */
}

__attribute__((noinline)) static int nested(int n) {
    if (setjmp(inner) == 0) {
        if (n > 2)
            longjmp(inner, n);
        return -n;
    }
    return n * 100;
}

int main(void) {
    volatile int counter = 0;
    volatile double acc = 0.25;
    int r = setjmp(outer);
    if (r == 0) {
        counter++;
        acc *= 4.0;
        dive(0, 7);
        printf("dive returned (wrong)\n");
    } else {
        printf("longjmp through frames returned %d, depth %d, counter %d, acc %.3f\n", r,
               depth_seen, counter, acc);
    }
    for (int i = 0; i <= 7; i++)
        printf("%d ", trail[i]);
    printf("\n");

    r = setjmp(outer);
    if (r == 0)
        longjmp(outer, 0);
    printf("longjmp(env, 0) made setjmp return %d\n", r);

    printf("nested: %d %d %d\n", nested(1), nested(3), nested(9));

    volatile int loops = 0;
    r = setjmp(outer);
    if (r < 5) {
        loops++;
        longjmp(outer, r + 1);
    }
    printf("jumped back %d times, last value %d\n", loops, r);

    sigjmp_buf sj;
    r = sigsetjmp(sj, 0);
    if (r == 0)
        siglongjmp(sj, 42);
    printf("siglongjmp returned %d\n", r);
    return 0;
}
