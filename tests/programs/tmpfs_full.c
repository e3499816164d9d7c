/* Running out of tmpfs memory in the VM: writes, file creation and growth get ENOSPC (or a
 * short count), never a panic; freeing space (unlink, truncate, punching a hole) makes it
 * usable again. With argv[1] "map", a shared view of a hole the file system has no memory
 * for ends the program with SIGBUS, as Linux's tmpfs does. Guest only: tests/files.rs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024L * 1024)

static const char *err(int e) {
    return e == ENOSPC ? "ENOSPC" : e == ENOMEM ? "ENOMEM" : e == 0 ? "ok" : strerror(e);
}

/* Writes 1 MiB chunks until a write fails (a short count first is allowed); returns the
 * bytes written. */
static long fill(int fd, const char *what) {
    static char chunk[MIB];
    memset(chunk, 'x', sizeof chunk);
    long total = 0;
    for (;;) {
        errno = 0;
        ssize_t n = write(fd, chunk, sizeof chunk);
        if (n < 0) {
            printf("%s: %s after more than 1 MiB: %d\n", what, err(errno), total > MIB);
            return total;
        }
        total += n;
    }
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("/tmp/big", O_CREAT | O_RDWR | O_TRUNC, 0644);
    long big = fill(fd, "filling");
    if (argc > 1 && strcmp(argv[1], "map") == 0) {
        /* A hole past the data: no memory for its page when the view touches it. */
        ftruncate(fd, big + 16 * MIB);
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (big / 4096 + 4) * 4096);
        printf("view of a hole: %s\n", p == MAP_FAILED ? err(errno) : "mapped");
        printf("touching it\n");
        p[0] = 1;
        printf("not reached\n");
        return 0;
    }
    char buf[16] = "0123456789abcdef";
    errno = 0;
    printf("pwrite into a hole: %ld %s\n", (long)pwrite(fd, buf, 16, big + 8 * MIB), err(errno));
    errno = 0;
    printf("ftruncate far beyond (a hole costs nothing): %d %s\n", ftruncate(fd, big + 64 * MIB), err(errno));
    int small = open("/tmp/small", O_CREAT | O_WRONLY, 0644);
    errno = 0;
    printf("writing a small file: %ld %s\n", (long)write(small, buf, 16), err(errno));
    close(small);
    /* Inodes and names are charged too: creating files ends in ENOSPC as well. */
    int created = 0;
    char name[64];
    for (;; created++) {
        snprintf(name, sizeof name, "/tmp/f%d", created);
        int f = open(name, O_CREAT | O_WRONLY, 0644);
        if (f < 0) {
            printf("creating empty files: %s\n", err(errno));
            break;
        }
        close(f);
    }
    errno = 0;
    printf("mkdir when full: %d %s\n", mkdir("/tmp/dir", 0755), err(errno));
    /* A private view needs no file system memory. */
    char *p = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("private view when full: %s", p == MAP_FAILED ? err(errno) : "mapped");
    if (p != MAP_FAILED) {
        p[5] = 'p';
        printf(", reads the file: %c, writable: %c\n", p[0], p[5]);
    } else {
        printf("\n");
    }
    /* Punching a hole frees memory. */
    errno = 0;
    printf("punch 2 MiB: %d %s\n", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, MIB, 2 * MIB), err(errno));
    int g = open("/tmp/after-punch", O_CREAT | O_WRONLY, 0644);
    static char mib[MIB];
    errno = 0;
    printf("write 1 MiB after the punch: %ld %s\n", (long)write(g, mib, MIB), err(errno));
    close(g);
    /* Freeing everything gives it all back. */
    for (int i = 0; i < created; i++) {
        snprintf(name, sizeof name, "/tmp/f%d", i);
        unlink(name);
    }
    unlink("/tmp/after-punch");
    unlink("/tmp/small");
    munmap(p, 2 * MIB);
    close(fd);
    unlink("/tmp/big");
    fd = open("/tmp/big2", O_CREAT | O_RDWR | O_TRUNC, 0644);
    long again = fill(fd, "filling again");
    printf("the same room again: %d\n", again >= big - MIB && again <= big + MIB);
    void *m = malloc(4 * MIB);
    printf("malloc still works: %d\n", m != NULL);
    return 0;
}
