#include <stdio.h>
#include "greeting.h"

int main(int argc, char **argv) {
    printf("%s\n", greeting(argc > 1 ? argv[1] : "make"));
    printf("%s %s\n", word(0), word(1));
    return 3;
}
