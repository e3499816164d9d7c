/*
 * default_main.c: main() for programs that define OS_start() instead (include/kiln/os.h).
 *
 * musl's crt1.o refers to main; when the program defines none, the linker takes this one
 * from libkiln_shim.a. It refers to OS_start, so a program with neither main() nor
 * OS_start() fails to link with "undefined symbol: OS_start". Weak, so that an application
 * main() wins even when this object is linked directly. Nothing else lives in this file: any
 * other symbol here would pull this object (and the OS_start reference) into programs that
 * have their own main().
 */
#include "../include/kiln/os.h"

int __kiln_run_event_loop(void (*start)(void));
void __kiln_set_args(int argc, char **argv);

__attribute__((weak)) int main(int argc, char **argv)
{
	__kiln_set_args(argc, argv); /* for os_args() */
	return __kiln_run_event_loop(OS_start);
}
