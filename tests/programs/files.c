/* The file syscalls, compared between Linux (a static musl build run in a scratch directory)
 * and the VM (run in /tmp): tests/files.rs runs both with the directory as argv[1] and
 * compares what they print. Prints results and errno names, never absolute paths, and
 * lists directories sorted (the order of entries differs between file systems). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/file.h>
#include <unistd.h>

static const char *err(int e) {
    switch (e) {
    case 0: return "ok";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EINVAL: return "EINVAL";
    case ELOOP: return "ELOOP";
    case EBADF: return "EBADF";
    case ENOSPC: return "ENOSPC";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EXDEV: return "EXDEV";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    default: return "E?";
    }
}

#define TRY(what, call) do { errno = 0; long r_ = (long)(call); \
    printf("%-34s -> %ld %s\n", what, r_ < 0 ? -1L : r_, r_ < 0 ? err(errno) : "ok"); } while (0)

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) { printf("opendir %s: %s\n", dir, err(errno)); return; }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", dir);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

static void show(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) { printf("lstat %s: %s\n", path, err(errno)); return; }
    const char *t = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" :
                    S_ISLNK(st.st_mode) ? "link" : S_ISCHR(st.st_mode) ? "chr" : "other";
    printf("%s: %s mode %o size %lld nlink %ld\n", path, t, (unsigned)(st.st_mode & 07777),
           S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size, S_ISDIR(st.st_mode) ? 0L : (long)st.st_nlink);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) { printf("usage: files DIR\n"); return 2; }
    umask(022);
    TRY("mkdir work", mkdir("work", 0777));
    TRY("chdir work", chdir("work"));
    char cwd[4096];
    printf("cwd ends in /work: %d\n", getcwd(cwd, sizeof cwd) && strlen(cwd) >= 5 && !strcmp(cwd + strlen(cwd) - 5, "/work"));

    /* create, write, read, seek */
    int fd = open("a.txt", O_CREAT | O_RDWR | O_TRUNC, 0666);
    TRY("write", write(fd, "hello, world\n", 13));
    TRY("lseek end", lseek(fd, 0, SEEK_END));
    TRY("pwrite at 100", pwrite(fd, "far", 3, 100));
    char buf[256] = {0};
    TRY("pread 0", pread(fd, buf, 5, 0));
    printf("read '%s'\n", buf);
    TRY("lseek set 7", lseek(fd, 7, SEEK_SET));
    memset(buf, 0, sizeof buf);
    TRY("read", read(fd, buf, 5));
    printf("read '%s'\n", buf);
    TRY("pread hole", pread(fd, buf, 4, 50));
    printf("hole bytes %d %d %d %d\n", buf[0], buf[1], buf[2], buf[3]);
    TRY("lseek -1", lseek(fd, -1, SEEK_SET));
    TRY("ftruncate 20", ftruncate(fd, 20));
    show("a.txt");
    TRY("fsync", fsync(fd));
    TRY("fdatasync", fdatasync(fd));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    TRY("F_SETLK", fcntl(fd, F_SETLK, &fl));
    TRY("F_GETLK", fcntl(fd, F_GETLK, &fl));
    printf("F_GETLK type unlocked: %d\n", fl.l_type == F_UNLCK);
    TRY("flock", flock(fd, LOCK_EX | LOCK_NB));
    TRY("close", close(fd));
    TRY("close again", close(fd));

    /* flags */
    TRY("O_EXCL existing", open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0600));
    TRY("O_DIRECTORY on file", open("a.txt", O_RDONLY | O_DIRECTORY));
    TRY("open missing", open("missing", O_RDONLY));
    TRY("open dir for writing", open(".", O_WRONLY));
    TRY("open file/", open("a.txt/", O_RDONLY));
    fd = open("log", O_CREAT | O_WRONLY | O_APPEND, 0640);
    write(fd, "one\n", 4);
    lseek(fd, 0, SEEK_SET);
    write(fd, "two\n", 4);
    int fd2 = dup(fd);
    write(fd2, "three\n", 6);
    TRY("offset shared by dup", lseek(fd, 0, SEEK_CUR));
    close(fd);
    close(fd2);
    FILE *f = fopen("log", "r");
    while (f && fgets(buf, sizeof buf, f)) printf("log: %s", buf);
    if (f) fclose(f);
    show("log");
    TRY("creat", creat("made-by-creat", 0600));
    show("made-by-creat");

    /* directories */
    TRY("mkdir d", mkdir("d", 0755));
    TRY("mkdir d again", mkdir("d", 0755));
    TRY("mkdir d/e/f", mkdir("d/e/f", 0755));
    TRY("mkdir d/e", mkdir("d/e", 0700));
    TRY("rmdir d", rmdir("d"));
    TRY("rmdir a.txt", rmdir("a.txt"));
    TRY("unlink d", unlink("d"));
    TRY("rename d into d/e", rename("d", "d/e/x"));
    TRY("rename a.txt over log", rename("a.txt", "log"));
    TRY("rename d/e to top", rename("d/e", "e"));
    TRY("rename file over dir", rename("log", "e"));
    TRY("rmdir d", rmdir("d"));
    show("e");
    show("log");

    /* links */
    TRY("link", link("log", "log2"));
    show("log");
    TRY("link existing", link("log", "log2"));
    TRY("symlink", symlink("log", "sym"));
    TRY("symlink dangling", symlink("nowhere", "dangling"));
    TRY("symlink loop a", symlink("loop-b", "loop-a"));
    TRY("symlink loop b", symlink("loop-a", "loop-b"));
    memset(buf, 0, sizeof buf);
    TRY("readlink sym", readlink("sym", buf, sizeof buf));
    printf("sym -> %s\n", buf);
    TRY("readlink file", readlink("log", buf, sizeof buf));
    TRY("open loop", open("loop-a", O_RDONLY));
    TRY("open dangling", open("dangling", O_RDONLY));
    TRY("open sym O_NOFOLLOW", open("sym", O_RDONLY | O_NOFOLLOW));
    show("sym");
    struct stat st;
    TRY("stat sym", stat("sym", &st));
    printf("stat sym size %lld\n", (long long)st.st_size);
    TRY("unlink log", unlink("log"));
    show("log2");

    /* metadata */
    TRY("chmod", chmod("log2", 0600));
    TRY("access R_OK|W_OK", access("log2", R_OK | W_OK));
    TRY("access missing", access("missing", F_OK));
    struct timespec times[2] = {{.tv_sec = 1000000000, .tv_nsec = 5}, {.tv_sec = 1234567890, .tv_nsec = 0}};
    TRY("utimensat", utimensat(AT_FDCWD, "log2", times, 0));
    stat("log2", &st);
    printf("mtime %lld atime %lld\n", (long long)st.st_mtim.tv_sec, (long long)st.st_atim.tv_sec);
    show("log2");
    TRY("truncate 3", truncate("log2", 3));
    show("log2");
    struct statfs sfs;
    TRY("statfs", statfs(".", &sfs));
    printf("statfs namelen %ld\n", (long)sfs.f_namelen);

    /* devices */
    fd = open("/dev/null", O_WRONLY);
    TRY("write /dev/null", write(fd, "x", 1));
    close(fd);
    fd = open("/dev/full", O_WRONLY);
    TRY("write /dev/full", write(fd, "x", 1));
    close(fd);
    fd = open("/dev/zero", O_RDONLY);
    TRY("read /dev/zero", read(fd, buf, 8));
    close(fd);
    show("/dev/null");

    /* a long name */
    char name[300];
    memset(name, 'n', 299);
    name[299] = 0;
    TRY("open long name", open(name, O_CREAT | O_WRONLY, 0644));

    /* cleanup, and the directory listing on the way */
    list(".");
    TRY("chdir ..", chdir(".."));
    list("work");
    const char *rm[] = {"work/log2", "work/sym", "work/dangling", "work/loop-a", "work/loop-b",
                        "work/made-by-creat"};
    for (unsigned i = 0; i < sizeof rm / sizeof *rm; i++) TRY(rm[i], unlink(rm[i]));
    TRY("rmdir work/e/f", rmdir("work/e/f"));
    TRY("rmdir work/e", rmdir("work/e"));
    TRY("rmdir work", rmdir("work"));
    return 0;
}
