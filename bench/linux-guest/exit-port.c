/* exit-port: ends the Linux guest the way a Kiln image ends, through QEMU's isa-debug-exit
 * device (`-device isa-debug-exit,iobase=0xf4,iosize=4`): writing N to port 0xf4 makes QEMU
 * exit with (N << 1) | 1, which `kiln run` and bench/linux-guest/run.sh map back to N.
 *
 * Usage (as root, in the guest's /init): exit-port STATUS. Returns only if the write did not
 * end the VM (no such device, or ioperm refused), with status 1; /init then powers off.
 * Built by bench/linux-guest/build.sh as a static musl executable (`kiln link --host`). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>

#define DEBUG_EXIT_PORT 0xf4

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: exit-port STATUS\n");
		return 2;
	}
	unsigned status = (unsigned)strtoul(argv[1], NULL, 0);
	if (ioperm(DEBUG_EXIT_PORT, 4, 1) != 0) {
		fprintf(stderr, "exit-port: ioperm(0xf4): %s\n", strerror(errno));
		return 1;
	}
	outl(status, DEBUG_EXIT_PORT);
	/* Still here: QEMU has no isa-debug-exit device at 0xf4. */
	return 1;
}
