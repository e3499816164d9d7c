/* Touching a page of a file view that lies wholly past the end of the file: SIGBUS on
 * Linux (status 135 as a shell shows it), and the same fault report status in the VM.
 * argv[1] is a scratch directory, argv[2] "shared" or "private". tests/files.rs runs it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3 || chdir(argv[1]) != 0) {
        printf("usage: mmap_bus DIR shared|private\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("short", O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0 || write(fd, "one page and a bit", 18) != 18) {
        printf("cannot make the file\n");
        return 1;
    }
    int shared = strcmp(argv[2], "shared") == 0;
    volatile char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
                            shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        printf("mmap failed\n");
        return 1;
    }
    /* The rest of the file's last page is there, and reads as zeros. */
    printf("first page: %.3s, past the end of the file in its last page: %d\n",
           (const char *)p, p[100]);
    printf("touching the second page\n");
    char c = p[4096 + 1];
    printf("not reached: %d\n", c);
    return 0;
}
