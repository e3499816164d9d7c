/*
 * newlib.c: each newlib-style entry point of libc-shim/newlib.c (_read, _write, _open,
 * _close, _lseek, _fstat, _isatty, _getpid, _kill, _gettimeofday, _sbrk, _exit), with
 * declarations as newlib's <sys/unistd.h> has them. Needs /dev/null. Expected: "status: ok"
 * and exit status 0 through _exit(0), never the "returned" line.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include "check.h"

int _read(int fd, void *buf, size_t count);
int _write(int fd, const void *buf, size_t count);
int _open(const char *path, int flags, ...);
int _close(int fd);
off_t _lseek(int fd, off_t offset, int whence);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
int _getpid(void);
int _kill(int pid, int sig);
int _gettimeofday(struct timeval *tv, void *tz);
void *_sbrk(ptrdiff_t increment);
void _exit(int status);

int main(void)
{
	fflush(stdout);
	static const char line[] = "_write reached stdout\n";
	int n = _write(1, line, sizeof line - 1);
	CHECK("_write", n == (int)sizeof line - 1, "returned %d", n);

	int fd = _open("/dev/null", O_RDWR);
	CHECK("_open", fd > 2, "returned %d, errno %d", fd, errno);
	char buf[8] = "x";
	n = _read(fd, buf, sizeof buf);
	CHECK("_read at end of file", n == 0, "returned %d, errno %d", n, errno);
	n = _write(fd, "discarded", 9);
	CHECK("_write to /dev/null", n == 9, "returned %d", n);
	off_t at = _lseek(fd, 0, SEEK_SET);
	CHECK("_lseek", at == 0, "returned %lld, errno %d", (long long)at, errno);
	struct stat st;
	memset(&st, 0, sizeof st);
	n = _fstat(fd, &st);
	CHECK("_fstat", n == 0 && S_ISCHR(st.st_mode), "returned %d, mode %o", n, st.st_mode);
	n = _isatty(fd);
	CHECK("_isatty of /dev/null", n == 0, "returned %d", n);
	n = _close(fd);
	CHECK("_close", n == 0, "returned %d, errno %d", n, errno);
	errno = 0;
	n = _close(fd);
	CHECK("_close twice fails with EBADF", n == -1 && errno == EBADF, "returned %d, errno %d",
	      n, errno);
	errno = 0;
	n = _isatty(-1);
	CHECK("_isatty of a bad fd", n == 0 && errno == EBADF, "returned %d, errno %d", n, errno);

	int pid = _getpid();
	CHECK("_getpid", pid > 0, "returned %d", pid);
	n = _kill(pid, 0);
	CHECK("_kill with signal 0", n == 0, "returned %d, errno %d", n, errno);

	struct timeval tv = {0, 0};
	n = _gettimeofday(&tv, NULL);
	/* 1704067200 is 2024-01-01T00:00:00Z. */
	CHECK("_gettimeofday", n == 0 && tv.tv_sec > 1704067200 && tv.tv_usec >= 0 &&
				       tv.tv_usec < 1000000,
	      "returned %d", n);

	char *start = _sbrk(0);
	char *old = _sbrk(8192);
	char *now = _sbrk(0);
	CHECK("_sbrk grows", start != (void *)-1 && old == start && now == start + 8192,
	      "break did not move by 8192");
	if (old != (void *)-1) {
		memset(old, 0xa5, 8192);
		CHECK("_sbrk memory is writable", (unsigned char)old[8191] == 0xa5, "bad byte");
	}
	char *shrunk = _sbrk(-4096);
	CHECK("_sbrk shrinks", shrunk == now && _sbrk(0) == now - 4096, "break did not move back");

	check_status();
	_exit(check_failures ? 1 : 0);
	printf("returned from _exit\n");
	return 2;
}
