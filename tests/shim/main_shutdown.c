/*
 * main_shutdown.c: a program with its own main() may call os_shutdown; that links without
 * OS_start (the default main is not pulled in) and exits at once with the status. Expected
 * output: "calling os_shutdown(7)"; exit status 7; never "not reached". os_args() has
 * nothing to return there (NULL, argc 0).
 */
#include <stdio.h>

#include <kiln/os.h>

int main(void)
{
	int argc = -1;
	if (os_args(&argc) != NULL || argc != 0)
		printf("FAIL: os_args in a program with its own main()\n");
	printf("calling os_shutdown(7)\n");
	os_shutdown(7);
	printf("not reached\n");
	return 1;
}
