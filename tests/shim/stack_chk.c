/*
 * stack_chk.c: calls __stack_chk_fail as a compiler-inserted canary check does. The link
 * wraps it into libc-shim's handler. Expected: "kiln: stack smashing detected" on stderr, no
 * "not reached" line, and abort()'s status (134 in a Kiln image; SIGABRT on a host).
 */
#include <stdio.h>

void __stack_chk_fail(void);

int main(void)
{
	printf("reporting a smashed canary\n");
	fflush(stdout);
	__stack_chk_fail();
	printf("not reached\n");
	return 1;
}
