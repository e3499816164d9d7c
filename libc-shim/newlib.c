/*
 * newlib.c: newlib-style system entry points, for code that brings its own C library
 * layer or was written against newlib's syscall stubs (libgloss).
 *
 * Each is a weak, thin call into musl, so it takes musl's syscall path into the runtime and
 * sets errno like musl does; a program that defines its own version wins. Signatures follow
 * newlib's <sys/unistd.h> and libgloss.
 *
 * _sbrk moves the program break with the brk system call. musl's malloc also takes small
 * amounts of memory from brk and does not expect the break to move under it: a program that
 * uses _sbrk should do all its allocation through it (typically its own malloc on top of
 * _sbrk) rather than mix it with heavy use of malloc.
 */
#define _GNU_SOURCE /* syscall, kill */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#define WEAK __attribute__((weak))

WEAK int _read(int fd, void *buf, size_t count)
{
	return (int)read(fd, buf, count);
}

WEAK int _write(int fd, const void *buf, size_t count)
{
	return (int)write(fd, buf, count);
}

WEAK int _open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return open(path, flags, mode);
}

WEAK int _close(int fd)
{
	return close(fd);
}

WEAK off_t _lseek(int fd, off_t offset, int whence)
{
	return lseek(fd, offset, whence);
}

WEAK int _fstat(int fd, struct stat *st)
{
	return fstat(fd, st);
}

WEAK int _isatty(int fd)
{
	return isatty(fd);
}

WEAK int _getpid(void)
{
	return getpid();
}

WEAK int _kill(int pid, int sig)
{
	return kill(pid, sig);
}

WEAK int _gettimeofday(struct timeval *tv, void *tz)
{
	return gettimeofday(tv, tz);
}

WEAK void _exit(int status)
{
	_Exit(status);
}

/* Returns the old break and moves it by `increment` bytes, or (void *)-1 with errno ENOMEM. */
WEAK void *_sbrk(ptrdiff_t increment)
{
	static uintptr_t current;
	if (!current)
		current = (uintptr_t)syscall(SYS_brk, 0);
	uintptr_t old = current;
	if (increment == 0)
		return (void *)old;
	uintptr_t wanted = old + (uintptr_t)increment;
	if ((increment > 0 && wanted < old) || (increment < 0 && wanted > old) ||
	    (uintptr_t)syscall(SYS_brk, wanted) != wanted) {
		errno = ENOMEM;
		return (void *)-1;
	}
	current = wanted;
	return (void *)old;
}
