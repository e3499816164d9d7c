/*
 * locale_bridge.c: locale objects that both musl and glibc-compiled code can read.
 *
 * Debian's libc++.a was compiled against glibc, whose <ctype.h> turns isxdigit_l(c, loc) and
 * friends into inline reads of `loc->__ctype_b`, the field at byte offset 104 of glibc's
 * struct __locale_struct (`__ctype_tolower` and `__ctype_toupper` follow at 112 and 120).
 * musl's locale object holds only its 6 category pointers (48 bytes), so handing libc++ a
 * musl locale makes those inline reads run past it (printing a double through an ostream
 * then crashes). The link driver wraps newlocale, duplocale and freelocale (wraps.txt) so
 * every locale_t the program sees is a `struct kiln_locale`: musl's 6 category pointers
 * first, then glibc's layout, with the three table pointers set to tables in glibc's format
 * (indexable from -128 to 255). The class table is musl's own __ctype_b_loc() table, which
 * musl keeps in glibc's format for binary compatibility and which equals glibc's C-locale
 * table (ASCII classes, nothing above 127). musl's case tables map bytes above 127 to 0, so
 * the case tables are built here, as glibc's C-locale tables are: every byte maps to itself
 * except the ASCII letters, negative (signed char) values map to the same byte as unsigned,
 * and EOF maps to EOF. These are right for C and C.UTF-8, the only LC_CTYPE locales musl has
 * (in UTF-8 no byte above 127 is a character by itself).
 *
 * uselocale is not wrapped: musl stores the object it is given and reads only the first 6
 * pointers, and it already returns LC_GLOBAL_LOCALE (not its private global object) for a
 * thread that uses the global locale, so every locale_t a program can obtain is one of ours
 * or LC_GLOBAL_LOCALE.
 */
#define _GNU_SOURCE /* locale_t and the POSIX 2008 locale functions */
#include <errno.h>
#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* musl exports this (glibc ABI); its <ctype.h> does not declare it. */
const unsigned short **__ctype_b_loc(void);

locale_t __real_newlocale(int mask, const char *name, locale_t base);
locale_t __real_duplocale(locale_t old);
void __real_freelocale(locale_t loc);

/*
 * lld fetches an archive member for X only when some object names X itself: a reference to
 * __real_X alone leaves X undefined (and weak, so the call would jump to address 0) in a
 * program that never calls X directly. Naming each wrapped function here pulls musl's
 * definitions in; these names are then redirected to the wrappers like every other use.
 */
__attribute__((used)) static void *const fetch_musl_definitions[] = {
	(void *)newlocale,
	(void *)duplocale,
	(void *)freelocale,
};

/* glibc's case tables, for c from -128 to 255 (EOF is -1 and maps to itself). */
#define BYTE(c) ((c) < -1 ? (c) + 256 : (c))
#define LOWER(c) ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : BYTE(c))
#define UPPER(c) ((c) >= 'a' && (c) <= 'z' ? (c) - 32 : BYTE(c))
#define ROW4(f, c) f(c), f((c) + 1), f((c) + 2), f((c) + 3)
#define ROW16(f, c) ROW4(f, c), ROW4(f, (c) + 4), ROW4(f, (c) + 8), ROW4(f, (c) + 12)
#define ROW64(f, c) ROW16(f, c), ROW16(f, (c) + 16), ROW16(f, (c) + 32), ROW16(f, (c) + 48)
#define TABLE(f)                                                                     \
	{ROW64(f, -128), ROW64(f, -64), ROW64(f, 0), ROW64(f, 64), ROW64(f, 128), ROW64(f, 192)}

static const int32_t tolower_table[384] = TABLE(LOWER);
static const int32_t toupper_table[384] = TABLE(UPPER);

#define MUSL_CATEGORIES 6	/* LC_CTYPE .. LC_MESSAGES: musl's struct __locale_struct */
#define GLIBC_CATEGORIES 13	/* __LC_LAST in glibc */

struct kiln_locale {
	const void *musl_cat[MUSL_CATEGORIES];	/* musl: struct __locale_struct */
	const void *glibc_cat_rest[GLIBC_CATEGORIES - MUSL_CATEGORIES];
	const unsigned short *ctype_b;		/* glibc: __ctype_b */
	const int32_t *ctype_tolower;		/* glibc: __ctype_tolower */
	const int32_t *ctype_toupper;		/* glibc: __ctype_toupper */
	const char *names[GLIBC_CATEGORIES];	/* glibc: __names (never read by libc++) */
};

_Static_assert(offsetof(struct kiln_locale, ctype_b) == 104, "glibc __ctype_b offset");
_Static_assert(offsetof(struct kiln_locale, ctype_tolower) == 112, "glibc __ctype_tolower");
_Static_assert(offsetof(struct kiln_locale, ctype_toupper) == 120, "glibc __ctype_toupper");
_Static_assert(sizeof(struct kiln_locale) == 232, "glibc struct __locale_struct size");

/* A new object carrying the categories of `musl_loc` (a musl object or LC_GLOBAL_LOCALE). */
static struct kiln_locale *wrap_categories(locale_t musl_loc)
{
	struct kiln_locale *loc = calloc(1, sizeof *loc);
	if (!loc)
		return NULL;
	if (musl_loc == LC_GLOBAL_LOCALE) {
		locale_t copy = __real_duplocale(LC_GLOBAL_LOCALE);
		if (!copy) {
			free(loc);
			return NULL;
		}
		memcpy(loc->musl_cat, copy, sizeof loc->musl_cat);
		__real_freelocale(copy);
	} else {
		memcpy(loc->musl_cat, musl_loc, sizeof loc->musl_cat);
	}
	loc->ctype_b = *__ctype_b_loc();
	loc->ctype_tolower = tolower_table + 128;
	loc->ctype_toupper = toupper_table + 128;
	return loc;
}

/*
 * POSIX newlocale. A `base` of ours is updated in place (musl treats any object that is not
 * one of its built-in locales as allocated, and rewrites only the first 6 pointers); for a
 * base of 0 or LC_GLOBAL_LOCALE musl builds the categories and we copy them out.
 */
locale_t __wrap_newlocale(int mask, const char *name, locale_t base)
{
	if (base && base != LC_GLOBAL_LOCALE)
		return __real_newlocale(mask, name, base);

	locale_t start = base;
	if (base == LC_GLOBAL_LOCALE) {
		start = __real_duplocale(LC_GLOBAL_LOCALE);
		if (!start)
			return NULL;
	}
	locale_t musl_loc = __real_newlocale(mask, name, start);
	if (!musl_loc) {
		if (start)
			__real_freelocale(start);
		return NULL;
	}
	struct kiln_locale *loc = wrap_categories(musl_loc);
	/* Frees only what musl allocated (never its built-in C/C.UTF-8 objects). */
	__real_freelocale(musl_loc);
	if (!loc)
		errno = ENOMEM;
	return (locale_t)loc;
}

locale_t __wrap_duplocale(locale_t old)
{
	if (old == LC_GLOBAL_LOCALE) {
		struct kiln_locale *loc = wrap_categories(LC_GLOBAL_LOCALE);
		if (!loc)
			errno = ENOMEM;
		return (locale_t)loc;
	}
	struct kiln_locale *loc = malloc(sizeof *loc);
	if (!loc) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(loc, old, sizeof *loc);
	return (locale_t)loc;
}

void __wrap_freelocale(locale_t loc)
{
	if (loc && loc != LC_GLOBAL_LOCALE)
		free(loc);
}
