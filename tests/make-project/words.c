#include "greeting.h"

const char *word(int i) {
    static const char *const words[] = {"from", "a static library"};
    return words[i & 1];
}
