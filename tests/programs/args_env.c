/* Prints argc, argv (argv[0] by its last path component) and the whole environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv) {
    const char *slash = strrchr(argv[0], '/');
    printf("argc=%d\n", argc);
    printf("argv[0]=[%s]\n", slash ? slash + 1 : argv[0]);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=[%s]\n", i, argv[i]);
    printf("argv[argc]=%s\n", argv[argc] == NULL ? "NULL" : "not NULL");
    for (char **e = environ; *e; e++)
        printf("env=[%s]\n", *e);
    const char *test = getenv("KILN_TEST");
    printf("getenv(KILN_TEST)=%s\n", test ? test : "(null)");
    printf("getenv(KILN_MISSING)=%s\n", getenv("KILN_MISSING") ? "set" : "(null)");
    return 0;
}
