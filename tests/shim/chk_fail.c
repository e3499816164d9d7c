/*
 * chk_fail.c: a fortified copy that would overflow its destination. Expected: the line
 * "kiln: buffer overflow detected" on stderr, no "not reached" line, and abort()'s status
 * (134 in a Kiln image; SIGABRT on a host).
 */
#include <stdio.h>
#include <string.h>

void *__memmove_chk(void *dest, const void *src, size_t len, size_t destlen);

int main(void)
{
	char dest[4];
	const char src[16] = "far too long";
	printf("copying 16 bytes into 4\n");
	fflush(stdout);
	__memmove_chk(dest, src, sizeof src, sizeof dest);
	printf("not reached: %c\n", dest[0]);
	return 1;
}
