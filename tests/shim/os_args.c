/*
 * os_args.c: an OS_start program reads its arguments through os_args(). Expected output:
 * "argc=3", "argv[1]=alpha", "argv[2]=beta-gamma", "argv[3]=NULL"; status 0.
 */
#include <stdio.h>

#include <kiln/os.h>

void OS_start(void)
{
	int argc = -1;
	char **argv = os_args(&argc);
	if (argv == NULL) {
		printf("FAIL: os_args returned NULL\n");
		return;
	}
	if (os_args(NULL) != argv)
		printf("FAIL: os_args(NULL) differs\n");
	printf("argc=%d\n", argc);
	for (int i = 1; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	printf("argv[%d]=%s\n", argc, argv[argc] ? "not NULL" : "NULL");
}
