/* Boots with files in its image and an initrd; tests/files.rs checks the listing the
 * runtime prints with kiln.files. */
#include <stdio.h>

int main(void) {
    puts("files probe ran");
    return 0;
}
