/* kernel_crash: asks the kernel to crash (`c` to /proc/sysrq-trigger, as on Linux), to show
 * what a fault in the runtime looks like: tests/faults.rs checks that it is reported as the
 * kernel's, never blamed on the program. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("asking the kernel to crash\n");
	fflush(stdout);
	int fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd < 0) {
		perror("open /proc/sysrq-trigger");
		return 1;
	}
	write(fd, "c", 1);
	printf("not reached: the kernel survived\n");
	return 0;
}
