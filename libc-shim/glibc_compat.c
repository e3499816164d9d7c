/*
 * glibc_compat.c: the glibc-only functions that Debian's libc++.a (built against glibc with
 * _FORTIFY_SOURCE) calls and musl does not provide.
 *
 * The nine symbols below are exactly the ones left undefined when libc++.a, libc++abi.a and
 * libunwind.a are linked over musl's libc.a (see docs/ARCHITECTURE.md and DESIGN.md §2);
 * the tenth, __kiln_gnu_strerror_r, is the GNU strerror_r libc++ calls under another name.
 * The `_chk` variants are glibc's fortified entry points: they do the plain operation after
 * checking the destination size the compiler knew; a failed check ends the program like
 * glibc's __chk_fail does (a message on stderr, then abort(), which Kiln reports as exit
 * status 134). The `_l` variants take a locale that cannot change how musl parses integers.
 */
#define _GNU_SOURCE /* vasprintf */
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

/* A fortified call would have written past the end of its destination. */
static _Noreturn void chk_fail(void)
{
	static const char msg[] = "kiln: buffer overflow detected\n";
	write(STDERR_FILENO, msg, sizeof msg - 1);
	abort();
}

/* `flag` asks glibc to reject %n in writable format strings; musl's printf is used as is. */
int __vfprintf_chk(FILE *stream, int flag, const char *format, va_list ap)
{
	(void)flag;
	return vfprintf(stream, format, ap);
}

int __fprintf_chk(FILE *stream, int flag, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	int n = __vfprintf_chk(stream, flag, format, ap);
	va_end(ap);
	return n;
}

/* `slen` is the real size of `s`; `maxlen` the size the caller claims. */
int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *format,
		    va_list ap)
{
	(void)flag;
	if (slen < maxlen)
		chk_fail();
	return vsnprintf(s, maxlen, format, ap);
}

int __vasprintf_chk(char **result, int flag, const char *format, va_list ap)
{
	(void)flag;
	return vasprintf(result, format, ap);
}

void *__memmove_chk(void *dest, const void *src, size_t len, size_t destlen)
{
	if (destlen < len)
		chk_fail();
	return memmove(dest, src, len);
}

/* For the wide versions both `n` and `ns1` count wchar_t elements, not bytes. */
wchar_t *__wmemcpy_chk(wchar_t *dest, const wchar_t *src, size_t n, size_t ns1)
{
	if (ns1 < n)
		chk_fail();
	return wmemcpy(dest, src, n);
}

wchar_t *__wmemmove_chk(wchar_t *dest, const wchar_t *src, size_t n, size_t ns1)
{
	if (ns1 < n)
		chk_fail();
	return wmemmove(dest, src, n);
}

/* musl's integer parsing is the same in every locale (digits and signs are ASCII). */
long long strtoll_l(const char *restrict nptr, char **restrict endptr, int base, locale_t loc)
{
	(void)loc;
	return strtoll(nptr, endptr, base);
}

unsigned long long strtoull_l(const char *restrict nptr, char **restrict endptr, int base,
			      locale_t loc)
{
	(void)loc;
	return strtoull(nptr, endptr, base);
}

/* GNU strerror_r, which returns the message: the call Debian's libc++ (std::system_error)
 * makes, renamed to this name in the libc++ copy `kiln link --cxx` uses
 * (cli/src/runtime.rs, libcxx_archive). musl's own strerror_r stays the XSI one for C. */
char *__kiln_gnu_strerror_r(int errnum, char *buf, size_t len)
{
	if (strerror_r(errnum, buf, len) != 0 && len > 0)
		snprintf(buf, len, "Unknown error %d", errnum);
	return buf;
}
