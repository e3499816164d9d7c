/* strtod/strtof/strtold and strtol/strtoul/strtoll edge cases. Differential. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *err_name(int e) {
    switch (e) {
    case 0: return "0";
    case ERANGE: return "ERANGE";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

int main(void) {
    static const char *floats[] = {
        "0", "-0", "1e308", "1e309", "-1e309", "1e-400", "4.9e-324", "2.4703282292062328e-324",
        "2.2250738585072011e-308", "0x1.8p1", "0X.8P-2", "inf", "-Infinity", "INFINITY", "nan",
        "-nan", "nan(123)", "  +12.5xyz", "", "abc", ".5", "5.", ".", "1e", "1e+", "-.e1",
        "123456789012345678901234567890", "0.1", "0.30000000000000004", "1.7976931348623157e308",
        "1.7976931348623159e308", "0x1p-1074", "0x1p-1075", "  \t\n42", "1_000",
    };
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        const char *s = floats[i];
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        int ed = errno;
        errno = 0;
        float f = strtof(s, NULL);
        int ef = errno;
        errno = 0;
        long double ld = strtold(s, NULL);
        int el = errno;
        printf("strtod(\"%s\") = %.17g %a end=%td errno=%s | f=%.9g %s | ld=%.21Lg %La %s\n", s,
               d, d, end - s, err_name(ed), (double)f, err_name(ef), ld, ld, err_name(el));
    }

    static const struct {
        const char *s;
        int base;
    } ints[] = {
        {"0", 10}, {"-0", 10}, {"42", 10}, {"  -42abc", 10}, {"+17", 10}, {"+", 10}, {"-", 10},
        {"", 10}, {"0x7fffffffffffffff", 16}, {"0x7fffffffffffffff", 0},
        {"9223372036854775807", 10}, {"9223372036854775808", 10}, {"-9223372036854775808", 10},
        {"-9223372036854775809", 10}, {"0x", 0}, {"0x", 16}, {"0xg", 16}, {"077", 0}, {"08", 0},
        {"z", 36}, {"Zz", 36}, {"12", 1}, {"12", 37}, {"101", 2}, {"  0b101", 0},
        {"18446744073709551615", 10}, {"18446744073709551616", 10}, {"-1", 10},
        {"99999999999999999999999", 10},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        const char *s = ints[i].s;
        int base = ints[i].base;
        char *end;
        errno = 0;
        long l = strtol(s, &end, base);
        int el = errno;
        ptrdiff_t used = end - s;
        errno = 0;
        unsigned long ul = strtoul(s, &end, base);
        int eul = errno;
        errno = 0;
        long long ll = strtoll(s, NULL, base);
        int ell = errno;
        errno = 0;
        unsigned long long ull = strtoull(s, NULL, base);
        int eull = errno;
        printf("strtol(\"%s\", %d) = %ld end=%td %s | ul=%lu end=%td %s | ll=%lld %s | "
               "ull=%llu %s\n",
               s, base, l, used, err_name(el), ul, end - s, err_name(eul), ll, err_name(ell),
               ull, err_name(eull));
    }
    printf("atoi=%d atol=%ld atoll=%lld atof=%g\n", atoi(" -123x"), atol("456"),
           atoll("-9000000000"), atof("2.5e3"));
    return 0;
}
