/*
 * chk.c: the glibc-compat functions of libc-shim/glibc_compat.c, called directly the way
 * glibc-fortified code (Debian's libc++.a) calls them, with sizes that pass the checks.
 * Exit status 0 and "status: ok" when every result is right. chk_fail.c covers a failed check.
 */
#define _GNU_SOURCE /* locale_t */
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "check.h"

/* glibc's declarations; musl's headers have none of these. */
int __fprintf_chk(FILE *stream, int flag, const char *format, ...);
int __vfprintf_chk(FILE *stream, int flag, const char *format, va_list ap);
int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *format,
		    va_list ap);
int __vasprintf_chk(char **result, int flag, const char *format, va_list ap);
void *__memmove_chk(void *dest, const void *src, size_t len, size_t destlen);
wchar_t *__wmemcpy_chk(wchar_t *dest, const wchar_t *src, size_t n, size_t ns1);
wchar_t *__wmemmove_chk(wchar_t *dest, const wchar_t *src, size_t n, size_t ns1);
long long strtoll_l(const char *nptr, char **endptr, int base, locale_t loc);
unsigned long long strtoull_l(const char *nptr, char **endptr, int base, locale_t loc);

static int vfprintf_chk(FILE *f, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	int n = __vfprintf_chk(f, 1, format, ap);
	va_end(ap);
	return n;
}

static int vsnprintf_chk(char *s, size_t maxlen, size_t slen, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	int n = __vsnprintf_chk(s, maxlen, 1, slen, format, ap);
	va_end(ap);
	return n;
}

static int vasprintf_chk(char **result, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	int n = __vasprintf_chk(result, 1, format, ap);
	va_end(ap);
	return n;
}

int main(void)
{
	int n = __fprintf_chk(stdout, 1, "fprintf_chk says %d %s %.2f\n", 42, "forty-two", 4.25);
	CHECK("__fprintf_chk", n == 35, "returned %d", n);

	n = vfprintf_chk(stdout, "vfprintf_chk says %x %c\n", 255u, 'k');
	CHECK("__vfprintf_chk", n == 23, "returned %d", n);

	char small[8];
	n = vsnprintf_chk(small, sizeof small, sizeof small, "%s-%d", "truncated", 12345);
	CHECK("__vsnprintf_chk", n == 15 && strcmp(small, "truncat") == 0,
	      "returned %d, wrote '%s'", n, small);

	char *text = NULL;
	n = vasprintf_chk(&text, "%s %05d %g", "asprintf", 42, 0.5);
	CHECK("__vasprintf_chk", n == 18 && text && strcmp(text, "asprintf 00042 0.5") == 0,
	      "returned %d, '%s'", n, text ? text : "(null)");
	free(text);

	char bytes[16] = "abcdefghij";
	void *r = __memmove_chk(bytes + 2, bytes, 8, sizeof bytes - 2);
	CHECK("__memmove_chk", r == bytes + 2 && memcmp(bytes, "ababcdefgh", 10) == 0,
	      "got '%.10s'", bytes);

	wchar_t wide[8] = L"kiln";
	wchar_t copy[8] = {0};
	wchar_t *w = __wmemcpy_chk(copy, wide, 5, 8);
	CHECK("__wmemcpy_chk", w == copy && wcscmp(copy, L"kiln") == 0, "copy differs");

	wchar_t overlap[8] = L"abcdef";
	w = __wmemmove_chk(overlap + 1, overlap, 5, 7);
	CHECK("__wmemmove_chk", w == overlap + 1 && wcscmp(overlap, L"aabcde") == 0,
	      "got '%ls'", overlap);

	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	char *end = NULL;
	long long ll = strtoll_l("  -9223372036854775807xyz", &end, 10, c);
	CHECK("strtoll_l", ll == -9223372036854775807LL && strcmp(end, "xyz") == 0,
	      "got %lld, rest '%s'", ll, end);
	unsigned long long ull = strtoull_l("0xFFFFFFFFFFFFFFFF", &end, 16, c);
	CHECK("strtoull_l", ull == 0xFFFFFFFFFFFFFFFFULL && *end == '\0', "got %llx", ull);
	ull = strtoull_l("777", &end, 0, c);
	CHECK("strtoull_l base 0", ull == 777, "got %llu", ull);
	freelocale(c);

	return check_status();
}
