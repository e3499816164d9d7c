#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdnoreturn.h>

_Static_assert(__STDC_VERSION__ >= 201710L, "C17");

#define KIND(x) _Generic((x), double: "double", int: "int", default: "other")

int main(int argc, char **argv) {
    (void)argv;
    alignas(32) double v = sqrt(2.0);
    printf("c17 ok argc=%d sqrt2=%.5f %s\n", argc, v, KIND(v));
    return 0;
}
