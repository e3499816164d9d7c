/*
 * os_start.c: the default main path. There is no main(): libc-shim's main() calls OS_start,
 * which asks for status 5; os_shutdown returns to its caller, the event loop ends when
 * OS_start returns, and main() returns 5, so the atexit handler runs. Expected output, in
 * order: "OS_start running", "os_shutdown returned", "atexit handler ran"; exit status 5.
 */
#include <stdio.h>
#include <stdlib.h>

#include <kiln/os.h>

static void at_exit(void)
{
	printf("atexit handler ran\n");
}

void OS_start(void)
{
	atexit(at_exit);
	printf("OS_start running\n");
	os_shutdown(5);
	printf("os_shutdown returned\n");
}
