/*
 * stack_protector.c: what happens when a stack canary is found overwritten.
 *
 * musl's __stack_chk_fail executes `hlt` to crash a user-mode process; in ring 0 `hlt` only
 * waits for the next interrupt and then returns into the smashed frame. The link driver wraps
 * __stack_chk_fail (wraps.txt), so every canary check lands here instead: one line on stderr
 * with write(2) (no stdio: its state may be what was smashed), then abort(), which Kiln
 * reports as exit status 134.
 */
#include <stdlib.h>
#include <unistd.h>

/* Must not check a canary itself: it runs because the current frame's canary is bad. */
__attribute__((no_stack_protector, noreturn)) void __wrap___stack_chk_fail(void)
{
	static const char msg[] = "kiln: stack smashing detected\n";
	write(STDERR_FILENO, msg, sizeof msg - 1);
	abort();
}
