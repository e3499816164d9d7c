/*
 * locale.c: the locale bridge (libc-shim/locale_bridge.c). Every locale_t from newlocale and
 * duplocale must carry glibc's table pointers at byte offsets 104/112/120, which is what
 * Debian's libc++.a reads inline; and musl's own *_l functions and uselocale must keep
 * working on the same objects. Expected: "status: ok", exit status 0.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "check.h"

const unsigned short **__ctype_b_loc(void);

/* glibc's <ctype.h> bit for class `bit` on a little-endian machine (its _ISbit macro). */
#define GLIBC_ISBIT(bit) ((bit) < 8 ? ((1 << (bit)) << 8) : ((1 << (bit)) >> 8))
enum {
	G_UPPER = GLIBC_ISBIT(0),
	G_LOWER = GLIBC_ISBIT(1),
	G_ALPHA = GLIBC_ISBIT(2),
	G_DIGIT = GLIBC_ISBIT(3),
	G_XDIGIT = GLIBC_ISBIT(4),
	G_SPACE = GLIBC_ISBIT(5),
	G_PRINT = GLIBC_ISBIT(6),
	G_GRAPH = GLIBC_ISBIT(7),
	G_BLANK = GLIBC_ISBIT(8),
	G_CNTRL = GLIBC_ISBIT(9),
	G_PUNCT = GLIBC_ISBIT(10),
	G_ALNUM = GLIBC_ISBIT(11),
};

/* The three fields glibc-compiled code reads from a locale object. */
struct glibc_view {
	const unsigned short *ctype_b;
	const int32_t *ctype_tolower;
	const int32_t *ctype_toupper;
};

static struct glibc_view view(locale_t loc)
{
	struct glibc_view v;
	memcpy(&v, (const char *)loc + 104, sizeof v);
	return v;
}

/* What glibc's inline isxdigit_l(c, loc) and friends compute. */
static int glibc_is(locale_t loc, int c, unsigned short cls)
{
	return (view(loc).ctype_b[c] & cls) != 0;
}

/* The glibc-view class bits agree with musl's classification for every byte and EOF. */
static int tables_agree(locale_t loc, int *bad)
{
	for (int c = -1; c < 256; c++) {
		const struct {
			unsigned short cls;
			int musl;
		} classes[] = {
			{G_UPPER, isupper_l(c, loc)}, {G_LOWER, islower_l(c, loc)},
			{G_ALPHA, isalpha_l(c, loc)}, {G_DIGIT, isdigit_l(c, loc)},
			{G_XDIGIT, isxdigit_l(c, loc)}, {G_SPACE, isspace_l(c, loc)},
			{G_PRINT, isprint_l(c, loc)}, {G_GRAPH, isgraph_l(c, loc)},
			{G_BLANK, isblank_l(c, loc)}, {G_CNTRL, iscntrl_l(c, loc)},
			{G_PUNCT, ispunct_l(c, loc)}, {G_ALNUM, isalnum_l(c, loc)},
		};
		for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
			if (glibc_is(loc, c, classes[i].cls) != (classes[i].musl != 0)) {
				*bad = c;
				return 0;
			}
		}
		if (view(loc).ctype_tolower[c] != tolower_l(c, loc) ||
		    view(loc).ctype_toupper[c] != toupper_l(c, loc)) {
			*bad = c;
			return 0;
		}
	}
	/* glibc maps a negative (signed char) byte like the same byte as unsigned char. */
	for (int c = -128; c < -1; c++) {
		if (view(loc).ctype_b[c] != view(loc).ctype_b[c + 256] ||
		    view(loc).ctype_tolower[c] != c + 256 || view(loc).ctype_toupper[c] != c + 256) {
			*bad = c;
			return 0;
		}
	}
	return 1;
}

int main(void)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	CHECK("newlocale C", c != (locale_t)0, "errno %d", errno);
	if (!c)
		return check_status();

	struct glibc_view v = view(c);
	CHECK("glibc fields are set", v.ctype_b == *__ctype_b_loc() && v.ctype_tolower &&
					      v.ctype_toupper,
	      "a field is wrong");

	int bad = 0;
	CHECK("glibc tables agree with musl's classes", tables_agree(c, &bad), "byte %d", bad);

	CHECK("isxdigit_l", isxdigit_l('f', c) && isxdigit_l('A', c) && !isxdigit_l('g', c) &&
				    glibc_is(c, 'f', G_XDIGIT) && !glibc_is(c, 'x', G_XDIGIT),
	      "wrong class");
	CHECK("toupper_l/tolower_l", toupper_l('q', c) == 'Q' && tolower_l('Q', c) == 'q' &&
					     view(c).ctype_toupper['q'] == 'Q',
	      "wrong case mapping");
	CHECK("strtod_l", strtod_l("2.5e2", NULL, c) == 250.0, "wrong value");

	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", c);
	CHECK("newlocale on a base updates it", utf8 == c && view(utf8).ctype_b == v.ctype_b,
	      "new object or lost fields");
	CHECK("iswalpha_l in C.UTF-8", iswalpha_l(L'\u00e9', utf8) && !iswalpha_l(L'7', utf8),
	      "wrong wide class");

	locale_t dup = duplocale(utf8);
	CHECK("duplocale", dup && dup != utf8 && view(dup).ctype_b == v.ctype_b &&
				   isxdigit_l('9', dup),
	      "bad copy");

	locale_t global = duplocale(LC_GLOBAL_LOCALE);
	CHECK("duplocale LC_GLOBAL_LOCALE", global && view(global).ctype_b == v.ctype_b,
	      "bad copy of the global locale");

	locale_t from_global = newlocale(LC_NUMERIC_MASK, "C", LC_GLOBAL_LOCALE);
	CHECK("newlocale on LC_GLOBAL_LOCALE", from_global && view(from_global).ctype_b == v.ctype_b,
	      "no object");

	/* musl accepts any name (unknown ones act as C.UTF-8); a null result must set errno. */
	errno = 0;
	locale_t unknown = newlocale(LC_ALL_MASK, "xx_NO.SUCH-locale", (locale_t)0);
	CHECK("newlocale of an unknown name",
	      unknown ? view(unknown).ctype_b == v.ctype_b && isalpha_l('z', unknown) : errno != 0,
	      "null without errno, or an object without tables");
	if (unknown)
		freelocale(unknown);

	locale_t old = uselocale(dup);
	CHECK("uselocale returns LC_GLOBAL_LOCALE first", old == LC_GLOBAL_LOCALE, "other value");
	CHECK("uselocale(0) returns ours", uselocale((locale_t)0) == dup, "other value");
	CHECK("MB_CUR_MAX under a C.UTF-8 thread locale", MB_CUR_MAX == 4, "%d", (int)MB_CUR_MAX);
	char buf[32];
	snprintf(buf, sizeof buf, "%.3f", 1.5);
	CHECK("printf under a thread locale", strcmp(buf, "1.500") == 0, "'%s'", buf);
	CHECK("uselocale restores", uselocale(old) == dup && uselocale((locale_t)0) == old,
	      "not restored");

	freelocale(from_global);
	freelocale(global);
	freelocale(dup);
	freelocale(utf8);
	return check_status();
}
