/* printf and scanf formats, including floating point and long double. Differential. */
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

static void doubles(void) {
    static const double values[] = {
        0.0, -0.0, 1.0, -1.5, 0.1, 3.141592653589793, 123456789.125, 2.5e-5, 1e300,
        1e-310, DBL_MAX, DBL_MIN, DBL_EPSILON, 1.0 / 3.0, 9.999999999999999e22, 0.5e-323,
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        double v = values[i];
        printf("d%zu: %e|%.3e|%g|%.10g|%a|%.2a|%.17g\n", i, v, v, v, v, v, v, v);
        printf("d%zu: %f|%.0f|%15.4f|%-12.3g|%+e|%#g|%010.2f|%#.0f|% .5E|%G\n", i, v, v, v, v,
               v, v, v, v, v, v);
    }
    printf("special: %f %e %g %a %F %E %G %A\n", INFINITY, -INFINITY, NAN, INFINITY, -INFINITY,
           NAN, -NAN, NAN);
    printf("float arg: %f %a\n", 1.1f, 1.1f);
}

static void long_doubles(void) {
    static const long double values[] = {
        0.0L, 1.0L / 3.0L, -2.5L, LDBL_MAX, LDBL_MIN, LDBL_EPSILON, 1e4000L, 1e-4000L,
        3.14159265358979323846264338327950288L, 12345678901234567890.0L,
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        long double v = values[i];
        printf("ld%zu: %Le|%.25Lg|%La|%.3Lf|%Lg|%30.20Le\n", i, v, v, v, v, v, v);
    }
}

static void arithmetic(void) {
    /* Results depend on the x87 control word and MXCSR the kernel leaves the app. */
    volatile double x = 2.0;
    volatile long double lx = 2.0L;
    printf("sqrt(2)=%.17g exp(1)=%.17g log(10)=%.17g sin(1)=%.17g pow(2,0.5)=%.17g\n",
           sqrt(x), exp(x - 1.0), log(x * 5.0), sin(x / 2.0), pow(x, 0.5));
    printf("sqrtl(2)=%.25Lg 1/3L=%.25Lg\n", sqrtl(lx), 1.0L / (lx + 1.0L));
    double sum = 0.0;
    for (int i = 1; i <= 100000; i++)
        sum += 1.0 / ((double)i * (double)i);
    printf("basel=%.17g\n", sum);
    volatile float f = 1.0f;
    for (int i = 0; i < 30; i++)
        f = f * 1.1f + 0.3f;
    printf("float chain=%.9g\n", (double)f);
    printf("rint(2.5)=%g nearbyint(-3.5)=%g lrint(7.5)=%ld fma=%.17g\n", rint(x + 0.5),
           nearbyint(-x - 1.5), lrint(x + 5.5), fma(x, 0.1, 0.7));
}

static void integers(void) {
    printf("%d|%i|%u|%x|%X|%o|%#x|%#o|%5d|%-5d|%05d|%+d|% d\n", -42, 42, 42u, 255u, 255u, 8u,
           255u, 8u, 7, 7, 7, 7, 7);
    printf("%ld|%lld|%hhd|%hd|%zu|%jd|%" PRIu64 "|%" PRIx64 "|%" PRId32 "\n", LONG_MIN,
           LLONG_MIN, (signed char)200, (short)70000, (size_t)SIZE_MAX, (intmax_t)INTMAX_MAX,
           (uint64_t)UINT64_MAX, (uint64_t)0xdeadbeefcafef00dULL, INT32_MIN);
    printf("%llu|%.0d|%.5d|%-+8d|%#10.4x|%hhx|%lc|%c|%%\n", ULLONG_MAX, 0, -3, 9, 0xabu,
           (unsigned char)0x1ff, (wint_t)'w', 'c');
    printf("%s|%.3s|%10s|%-10s|%*d|%-*d|%.*f\n", "text", "truncated", "right", "left", 6, 1, 6,
           2, 2, 3.14159);
    int n1 = 0, n2 = 0;
    printf("abc%n defgh%n\n", &n1, &n2);
    printf("n=%d,%d\n", n1, n2);
    char small[8];
    int want = snprintf(small, sizeof small, "%s-%d", "truncate", 12345);
    printf("snprintf wanted %d, kept [%s]\n", want, small);
    printf("null %%p: %p\n", (void *)0);
}

static void scanning(void) {
    int a = 0, b = 0, consumed = 0;
    unsigned x = 0, o = 0;
    double d1 = 0, d2 = 0, d3 = 0;
    long double ld = 0;
    char word[16] = "", set[16] = "", c = 0;
    int got = sscanf("  42 -17 0x1f 017 3.25e2 -inf 0x1.8p3 abcdefghijk xyzzy123 Q 1.25e-3",
                     "%d %d %x %o %lf %lf %lf %5s %*s %[xyz]%*d %c %Lf%n", &a, &b, &x, &o, &d1,
                     &d2, &d3, word, set, &c, &ld, &consumed);
    printf("sscanf=%d a=%d b=%d x=%u o=%u d1=%.17g d2=%g d3=%g word=%s set=%s c=%c ld=%.20Lg "
           "n=%d\n",
           got, a, b, x, o, d1, d2, d3, word, set, c, ld, consumed);
    float f = 0;
    long long ll = 0;
    unsigned char hh = 0;
    got = sscanf("1e40 -9223372036854775808 300", "%f %lld %hhu", &f, &ll, &hh);
    printf("sscanf=%d f=%g ll=%lld hh=%u\n", got, (double)f, ll, hh);
    got = sscanf("nope", "%d", &a);
    printf("sscanf mismatch=%d\n", got);
    got = sscanf("", "%d", &a);
    printf("sscanf empty=%d\n", got);
}

int main(void) {
    doubles();
    long_doubles();
    arithmetic();
    integers();
    scanning();
    return 0;
}
