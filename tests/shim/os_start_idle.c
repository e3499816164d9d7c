/*
 * os_start_idle.c: OS_start returns without calling os_shutdown. With nothing pending the
 * event loop ends at once (Node.js semantics) and main() returns 0. Expected output:
 * "OS_start returning"; exit status 0.
 */
#include <stdio.h>

#include <kiln/os.h>

void OS_start(void)
{
	printf("OS_start returning\n");
}
