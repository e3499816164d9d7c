/* mmap of files, msync and statx, compared between Linux (a static musl build run in a
 * scratch directory) and the VM (run in /tmp): tests/files.rs runs both with the directory
 * as argv[1] and compares what they print. Private and shared views, coherence both ways
 * (through the mapping and through read/write), offsets, truncation and unlinking under a
 * mapping, /dev/zero, msync, and the error cases with errno names. Prints no addresses,
 * inode numbers or times, only whether they agree with stat(2). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PAGE 4096L

static const char *err(int e) {
    switch (e) {
    case 0: return "ok";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case ENODEV: return "ENODEV";
    case ENOMEM: return "ENOMEM";
    case EOVERFLOW: return "EOVERFLOW";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "E?";
    }
}

#define TRY(what, call) do { errno = 0; long r_ = (long)(call); \
    printf("%-44s -> %ld %s\n", what, r_ < 0 ? -1L : r_, r_ < 0 ? err(errno) : "ok"); } while (0)

/* mmap's result as 0 or -1 (MAP_FAILED), so TRY prints no address. */
static long map_result(void *p) { return p == MAP_FAILED ? -1 : 0; }
#define TRYMAP(what, call) TRY(what, map_result(call))

static unsigned char pattern(long i) { return (unsigned char)(i * 7 % 251); }

/* True when the `n` bytes at `p` are the pattern from file offset `off`. */
static int is_pattern(const unsigned char *p, long off, long n) {
    for (long i = 0; i < n; i++)
        if (p[i] != pattern(off + i)) return 0;
    return 1;
}

static int is_zero(const unsigned char *p, long n) {
    for (long i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static char byte_at(int fd, long off) {
    char c = '?';
    if (pread(fd, &c, 1, off) != 1) return '#';
    return c;
}

static void make_file(const char *name, long size) {
    unsigned char *buf = malloc(size);
    for (long i = 0; i < size; i++) buf[i] = pattern(i);
    int fd = open(name, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0 || write(fd, buf, size) != size) printf("make %s failed: %s\n", name, err(errno));
    close(fd);
    free(buf);
}

static void private_views(void) {
    printf("== private\n");
    long size = 3 * PAGE + 100;
    make_file("data", size);
    int fd = open("data", O_RDONLY);
    unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("read-only view: %s\n", p == MAP_FAILED ? err(errno) : "mapped");
    printf("  content is the file: %d\n", is_pattern(p, 0, size));
    printf("  tail of the last page is zero: %d\n", is_zero(p + size, 4 * PAGE - size));
    TRY("munmap", munmap(p, 4 * PAGE));

    /* A writable private view of a read-only descriptor: writes stay in the view. */
    unsigned char *w = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PAGE);
    printf("private view at offset 4096: %s\n", w == MAP_FAILED ? err(errno) : "mapped");
    printf("  starts at file byte 4096: %d\n", is_pattern(w, PAGE, 2 * PAGE));
    memcpy(w + 5, "private", 7);
    printf("  view changed: %.7s\n", (char *)w + 5);
    printf("  file unchanged: %d\n", byte_at(fd, PAGE + 5) == (char)pattern(PAGE + 5));
    /* Writes to the file after the view was touched and written do not show in it. */
    int rw = open("data", O_RDWR);
    TRY("pwrite under a private view", pwrite(rw, "FILE", 4, PAGE + 5));
    printf("  view keeps its own bytes: %.7s\n", (char *)w + 5);
    /* MADV_DONTNEED drops the private copy: the view shows the file again. */
    TRY("madvise DONTNEED", madvise(w, PAGE, MADV_DONTNEED));
    printf("  after DONTNEED the view shows the file: %.4s\n", (char *)w + 5);
    w[PAGE + 1] = '+';
    TRY("mprotect PROT_NONE", mprotect(w, 2 * PAGE, PROT_NONE));
    TRY("mprotect read-only", mprotect(w, 2 * PAGE, PROT_READ));
    printf("  private bytes kept through PROT_NONE: %c %.4s\n", w[PAGE + 1], (char *)w + 5);
    TRY("munmap", munmap(w, 2 * PAGE));
    close(rw);
    close(fd);
}

static void shared_views(void) {
    printf("== shared\n");
    make_file("shared", 2 * PAGE);
    int fd = open("shared", O_RDWR);
    char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared view: %s\n", p == MAP_FAILED ? err(errno) : "mapped");
    /* Mapping -> file. */
    memcpy(p + PAGE + 10, "hello", 5);
    char buf[8] = {0};
    TRY("pread after a write through the view", pread(fd, buf, 5, PAGE + 10));
    printf("  file has: %.5s\n", buf);
    /* File -> mapping, with pwrite and with write. */
    TRY("pwrite into the file", pwrite(fd, "WORLD", 5, 20));
    printf("  view has: %.5s\n", p + 20);
    TRY("lseek", lseek(fd, 100, SEEK_SET));
    TRY("write into the file", write(fd, "abc", 3));
    printf("  view has: %.3s\n", p + 100);
    /* A second view of the second page shares the same bytes. */
    char *q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, PAGE);
    printf("second view: %s, sees the first: %.5s\n", q == MAP_FAILED ? err(errno) : "mapped",
           q + 10);
    p[PAGE + 11] = 'E';
    printf("  after a write through the first: %.5s\n", q + 10);
    /* A descriptor's read into the view, and a write from it. */
    int in = open("data", O_RDONLY);
    TRY("read from another file into the view", read(in, p + 200, 16));
    printf("  file got it: %d\n", byte_at(fd, 215) == (char)pattern(15));
    close(in);
    int out = open("copy", O_CREAT | O_TRUNC | O_RDWR, 0644);
    TRY("write the view into another file", write(out, p + PAGE + 10, 5));
    TRY("pread it back", pread(out, buf, 5, 0));
    printf("  copy has: %.5s\n", buf);
    close(out);
    /* msync: nothing to write back, the arguments checked as Linux does. */
    TRY("msync MS_SYNC", msync(p, 2 * PAGE, MS_SYNC));
    TRY("msync MS_ASYNC", msync(p, PAGE, MS_ASYNC));
    TRY("msync MS_INVALIDATE", msync(p, PAGE, MS_INVALIDATE));
    TRY("msync MS_SYNC|MS_INVALIDATE, 1 byte", msync(p + PAGE, 1, MS_SYNC | MS_INVALIDATE));
    TRY("msync length 0", msync(p, 0, MS_SYNC));
    TRY("msync unaligned", msync(p + 1, PAGE, MS_SYNC));
    TRY("msync MS_SYNC|MS_ASYNC", msync(p, PAGE, MS_SYNC | MS_ASYNC));
    TRY("msync unknown flag", msync(p, PAGE, 8));
    /* mprotect and a partial munmap keep the rest of the view coherent. */
    TRY("mprotect read-only", mprotect(p, 2 * PAGE, PROT_READ));
    TRY("pwrite while read-only", pwrite(fd, "ro", 2, 30));
    printf("  view has: %.2s\n", p + 30);
    TRY("mprotect PROT_NONE", mprotect(p, 2 * PAGE, PROT_NONE));
    TRY("pwrite while inaccessible", pwrite(fd, "nn", 2, 40));
    TRY("mprotect read-write", mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE));
    printf("  view has: %.2s %.2s\n", p + 30, p + 40);
    p[31] = 'W';
    printf("  file has: %c\n", byte_at(fd, 31));
    TRY("munmap the first page", munmap(p, PAGE));
    TRY("msync the unmapped page", msync(p, PAGE, MS_SYNC));
    TRY("msync across the hole", msync(p, 2 * PAGE, MS_SYNC));
    p[PAGE + 12] = 'L';
    printf("  second page still the file's: %c %.5s\n", byte_at(fd, PAGE + 12), q + 10);
    /* Grown with mremap: the new page continues the file (one page past its end now). */
    TRY("ftruncate to 3 pages", ftruncate(fd, 3 * PAGE));
    char *g = mremap(p + PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
    printf("mremap: %s\n", g == MAP_FAILED ? err(errno) : "ok");
    g[PAGE + 1] = 'G';
    printf("  grown page is the file's third page: %c, old bytes kept: %.5s\n",
           byte_at(fd, 2 * PAGE + 1), g + 10);
    TRY("munmap", munmap(g, 2 * PAGE));
    TRY("munmap", munmap(q, PAGE));
    close(fd);
}

static void truncation_and_unlink(void) {
    printf("== truncate and unlink under a view\n");
    make_file("grow", PAGE);
    int fd = open("grow", O_RDWR);
    char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("view larger than the file: %s\n", p == MAP_FAILED ? err(errno) : "mapped");
    /* A syscall touching a page wholly past the end of the file gets EFAULT. */
    int in = open("data", O_RDONLY);
    TRY("read into the page past the end", read(in, p + PAGE, 10));
    TRY("ftruncate to 2 pages", ftruncate(fd, 2 * PAGE));
    TRY("read into the now valid page", read(in, p + PAGE, 10));
    printf("  file has it: %d\n", byte_at(fd, PAGE + 3) == (char)pattern(3));
    p[PAGE + 100] = 'x';
    printf("  write through the view reached the file: %c\n", byte_at(fd, PAGE + 100));
    /* Shrink and grow again: the dropped page comes back as zeros, in both. */
    TRY("ftruncate to 1 page", ftruncate(fd, PAGE));
    TRY("ftruncate to 2 pages", ftruncate(fd, 2 * PAGE));
    printf("  view shows zeros: %d, file reads zeros: %d\n", is_zero((unsigned char *)p + PAGE, PAGE),
           byte_at(fd, PAGE + 100) == 0);
    close(in);
    /* Unlinked and closed: the view keeps the file alive. */
    TRY("unlink", unlink("grow"));
    TRY("close", close(fd));
    p[5] = '!';
    printf("  view of the unlinked file: %c %d\n", p[5], is_pattern((unsigned char *)p + 6, 6, 10));
    TRY("munmap", munmap(p, 3 * PAGE));
}

/* Anonymous memory keeps its contents through PROT_NONE, also when moved meanwhile. */
static void protect_none(void) {
    printf("== PROT_NONE\n");
    char *a = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(a + PAGE, "anon kept");
    TRY("mprotect PROT_NONE", mprotect(a, 2 * PAGE, PROT_NONE));
    TRY("mprotect read-only", mprotect(a, 2 * PAGE, PROT_READ));
    printf("  %s\n", a + PAGE);
    TRY("mprotect PROT_NONE", mprotect(a, 2 * PAGE, PROT_NONE));
    /* Something right after it, so growing moves it. */
    void *after = mmap(a + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    char *b = mremap(a, 2 * PAGE, 16 * PAGE, MREMAP_MAYMOVE);
    printf("mremap while PROT_NONE: %s\n", b == MAP_FAILED ? err(errno) : "ok");
    TRY("mprotect read-write", mprotect(b, 16 * PAGE, PROT_READ | PROT_WRITE));
    printf("  %s, grown part zero: %d\n", b + PAGE, is_zero((unsigned char *)b + 2 * PAGE, 14 * PAGE));
    TRY("munmap", munmap(b, 16 * PAGE));
    if (after != MAP_FAILED) munmap(after, PAGE);
}

static void dev_zero_and_errors(void) {
    printf("== /dev/zero\n");
    int z = open("/dev/zero", O_RDWR);
    unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
    printf("private /dev/zero: %s, zero: %d\n", p == MAP_FAILED ? err(errno) : "mapped",
           is_zero(p, 2 * PAGE));
    p[PAGE] = 1;
    TRY("munmap", munmap(p, 2 * PAGE));
    p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0);
    printf("shared /dev/zero: %s, zero: %d\n", p == MAP_FAILED ? err(errno) : "mapped",
           is_zero(p, PAGE));
    p[0] = 1;
    TRY("munmap", munmap(p, PAGE));
    close(z);

    printf("== errors\n");
    int ro = open("data", O_RDONLY);
    int wo = open("data", O_WRONLY);
    int rw = open("data", O_RDWR);
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    int path = open("data", O_PATH);
    int null = open("/dev/null", O_RDWR);
    int zro = open("/dev/zero", O_RDONLY);
    int pipes[2];
    pipe(pipes);
    TRYMAP("shared writable of O_RDONLY", mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
    TRYMAP("shared read-only of O_RDONLY", mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0));
    TRYMAP("private writable of O_RDONLY", mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0));
    TRYMAP("private of O_WRONLY", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, wo, 0));
    TRYMAP("shared of O_WRONLY", mmap(NULL, PAGE, PROT_WRITE, MAP_SHARED, wo, 0));
    TRYMAP("shared writable of O_RDWR", mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0));
    TRYMAP("offset not a page multiple", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, ro, 100));
    TRYMAP("length 0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE, ro, 0));
    TRYMAP("neither shared nor private", mmap(NULL, PAGE, PROT_READ, 0, ro, 0));
    TRYMAP("MAP_SHARED_VALIDATE", mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE, ro, 0));
    TRYMAP("MAP_SHARED_VALIDATE|MAP_SYNC (no DAX)", mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE | 0x80000, ro, 0));
    TRYMAP("closed descriptor", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 999, 0));
    TRYMAP("O_PATH descriptor", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, path, 0));
    TRYMAP("directory", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dir, 0));
    TRYMAP("pipe", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, pipes[0], 0));
    TRYMAP("/dev/null", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, null, 0));
    TRYMAP("shared writable /dev/zero O_RDONLY", mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, zro, 0));
    TRYMAP("offset past the largest file", mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, ro, 0x7ffffffffffff000L));
    TRYMAP("offset far past the end (allowed)", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, ro, 1L << 30));
    void *anon = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    TRYMAP("MAP_FIXED_NOREPLACE over a mapping", mmap(anon, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, ro, 0));
    TRYMAP("MAP_FIXED over an anonymous mapping", mmap(anon, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, ro, 0));
    printf("  fixed view shows the file: %d\n", is_pattern(anon, 0, PAGE));
    TRY("munmap", munmap(anon, PAGE));
}

/* /proc/self/maps shows a shared file view (offset, device, inode) and anonymous memory. */
static void proc_maps(void) {
    printf("== /proc/self/maps\n");
    make_file("mapped", 3 * PAGE);
    int fd = open("mapped", O_RDWR);
    char *s = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * PAGE);
    char *a = mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct stat st;
    fstat(fd, &st);
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) {
        printf("fopen: %s\n", err(errno));
        return;
    }
    char line[512];
    int stack = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off, ino;
        unsigned maj, min;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu", &lo, &hi, perms, &off, &maj, &min, &ino) != 7) {
            bad++;
            continue;
        }
        if (lo <= (unsigned long)s && (unsigned long)s < hi)
            printf("shared view: %s offset %lx, dev and inode agree with fstat: %d\n", perms,
                   off + ((unsigned long)s - lo), makedev(maj, min) == st.st_dev && ino == st.st_ino);
        if (lo <= (unsigned long)a && (unsigned long)a < hi)
            printf("anonymous: %s offset %lx %02x:%02x inode %lu\n", perms, off, maj, min, ino);
        if (strstr(line, "[stack]")) stack = 1;
    }
    fclose(f);
    printf("a [stack] line: %d, malformed lines: %d\n", stack, bad);
    int w = open("/proc/self/maps", O_WRONLY);
    TRY("open /proc/self/maps for writing", w < 0 ? -1 : 0);
    TRY("write to it", write(w, "x", 1));
    close(w);
    munmap(s, PAGE);
    munmap(a, 3 * PAGE);
    close(fd);
}

/* struct statx of <linux/stat.h> (musl 1.2.3 has none). */
struct kstatx_ts { int64_t tv_sec; uint32_t tv_nsec; int32_t reserved; };
struct kstatx {
    uint32_t stx_mask, stx_blksize;
    uint64_t stx_attributes;
    uint32_t stx_nlink, stx_uid, stx_gid;
    uint16_t stx_mode, spare0;
    uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
    struct kstatx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
    uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
    uint64_t spare[14];
};
_Static_assert(sizeof(struct kstatx) == 256, "struct statx is 256 bytes");

#define STATX_BASIC_STATS 0x7ffU
#define STATX__RESERVED 0x80000000U
#define AT_STATX_FORCE_SYNC 0x2000
#define AT_STATX_DONT_SYNC 0x4000

static long do_statx(int dirfd, const char *path, int flags, unsigned mask, struct kstatx *out) {
    return syscall(SYS_statx, dirfd, path, flags, mask, out);
}

/* What statx says about `path`, checked against lstat/stat/fstat. */
static void show_statx(const char *what, int dirfd, const char *path, int flags) {
    struct kstatx x;
    memset(&x, 0xa5, sizeof x);
    errno = 0;
    if (do_statx(dirfd, path, flags, STATX_BASIC_STATS, &x) != 0) {
        printf("statx %s: %s\n", what, err(errno));
        return;
    }
    struct stat st;
    int r;
    if (flags & AT_EMPTY_PATH && !*path)
        r = fstat(dirfd, &st);
    else
        r = fstatat(dirfd, path, &st, flags & AT_SYMLINK_NOFOLLOW);
    printf("statx %s: basic %d type %o perm %o nlink %u", what,
           (x.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS, x.stx_mode & S_IFMT,
           x.stx_mode & 07777, x.stx_nlink);
    /* A directory's size depends on the file system. */
    if (S_ISREG(x.stx_mode) || S_ISLNK(x.stx_mode)) printf(" size %llu", (unsigned long long)x.stx_size);
    if (S_ISCHR(x.stx_mode)) printf(" rdev %u:%u", x.stx_rdev_major, x.stx_rdev_minor);
    printf(" | agrees with stat: %d\n",
           r == 0 && x.stx_ino == st.st_ino && x.stx_size == (uint64_t)st.st_size &&
               x.stx_mode == st.st_mode && x.stx_nlink == st.st_nlink &&
               x.stx_uid == st.st_uid && x.stx_gid == st.st_gid &&
               x.stx_blocks == (uint64_t)st.st_blocks && x.stx_blksize == st.st_blksize &&
               x.stx_mtime.tv_sec == st.st_mtim.tv_sec &&
               x.stx_mtime.tv_nsec == st.st_mtim.tv_nsec &&
               x.stx_ctime.tv_sec == st.st_ctim.tv_sec &&
               x.stx_atime.tv_sec == st.st_atim.tv_sec &&
               x.stx_dev_major == major(st.st_dev) && x.stx_dev_minor == minor(st.st_dev) &&
               x.stx_rdev_major == major(st.st_rdev) && x.stx_rdev_minor == minor(st.st_rdev));
}

static void statx_calls(void) {
    printf("== statx\n");
    symlink("data", "link");
    mkdir("sub", 0750);
    show_statx("file", AT_FDCWD, "data", 0);
    show_statx("link followed", AT_FDCWD, "link", 0);
    show_statx("link not followed", AT_FDCWD, "link", AT_SYMLINK_NOFOLLOW);
    show_statx("directory", AT_FDCWD, "sub", 0);
    show_statx("/dev/null", AT_FDCWD, "/dev/null", 0);
    int fd = open("data", O_RDONLY);
    show_statx("AT_EMPTY_PATH of a file", fd, "", AT_EMPTY_PATH);
    int pipes[2];
    pipe(pipes);
    struct kstatx x;
    TRY("statx AT_EMPTY_PATH of a pipe", do_statx(pipes[0], "", AT_EMPTY_PATH, STATX_BASIC_STATS, &x));
    printf("  type %o\n", x.stx_mode & S_IFMT);
    int d = open("sub", O_RDONLY | O_DIRECTORY);
    TRY("statx relative to a directory fd", do_statx(d, "../data", 0, STATX_BASIC_STATS, &x));
    printf("  size %llu\n", (unsigned long long)x.stx_size);
    TRY("statx AT_STATX_DONT_SYNC", do_statx(AT_FDCWD, "data", AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &x));
    TRY("statx AT_STATX_FORCE_SYNC", do_statx(AT_FDCWD, "data", AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &x));
    TRY("statx mask 0", do_statx(AT_FDCWD, "data", 0, 0, &x));
    TRY("statx empty path without AT_EMPTY_PATH", do_statx(fd, "", 0, STATX_BASIC_STATS, &x));
    TRY("statx both sync types", do_statx(AT_FDCWD, "data", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &x));
    TRY("statx unknown flag", do_statx(AT_FDCWD, "data", 0x1, STATX_BASIC_STATS, &x));
    TRY("statx reserved mask bit", do_statx(AT_FDCWD, "data", 0, STATX__RESERVED, &x));
    TRY("statx missing file", do_statx(AT_FDCWD, "nothing", 0, STATX_BASIC_STATS, &x));
    TRY("statx through a file", do_statx(AT_FDCWD, "data/x", 0, STATX_BASIC_STATS, &x));
    TRY("statx bad buffer", do_statx(AT_FDCWD, "data", 0, STATX_BASIC_STATS, (struct kstatx *)8));
    TRY("statx bad dirfd", do_statx(999, "data", 0, STATX_BASIC_STATS, &x));
    close(fd);
    close(d);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) {
        printf("usage: mmap_files DIR\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    private_views();
    shared_views();
    truncation_and_unlink();
    protect_none();
    dev_zero_and_errors();
    proc_maps();
    statx_calls();
    printf("done\n");
    return 0;
}
