/* A program for `kiln run` as a process (tests/lifecycle.rs), in one of these modes:
 *   handler  prints "ready", then waits; SIGHUP and SIGUSR1 are counted and printed, SIGTERM
 *            prints "SIGTERM after N SIGHUP" and exits 0;
 *   ignore   ignores SIGTERM and SIGINT, prints "ready", waits forever;
 *   cat      copies stdin to stdout until the end of the input, then prints the byte count to
 *            stderr and exits 0;
 *   bytes    writes every byte value, lines ending in \n and \r\n, and a last line without a
 *            newline, to stdout (what must arrive unchanged);
 *   flood    writes numbered lines to stdout forever (until SIGPIPE ends it, as `yes | head`).
 * Built as an image and for the host with the other programs. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t hups, usr1s, term;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hups++;
	else if (sig == SIGUSR1)
		usr1s++;
	else if (sig == SIGTERM)
		term = 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "handler")) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		printf("ready\n");
		fflush(stdout);
		int seen_hup = 0, seen_usr1 = 0;
		while (!term) {
			pause();
			if (hups != seen_hup) {
				seen_hup = hups;
				printf("SIGHUP %d\n", seen_hup);
				fflush(stdout);
			}
			if (usr1s != seen_usr1) {
				seen_usr1 = usr1s;
				printf("SIGUSR1 %d\n", seen_usr1);
				fflush(stdout);
			}
		}
		printf("SIGTERM after %d SIGHUP\n", (int)hups);
		return 0;
	}
	if (!strcmp(mode, "ignore")) {
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (!strcmp(mode, "cat")) {
		char buf[4096];
		long total = 0;
		ssize_t n;
		while ((n = read(0, buf, sizeof buf)) > 0) {
			if (write(1, buf, (size_t)n) != n)
				return 2;
			total += n;
		}
		fprintf(stderr, "cat: %ld bytes, %s\n", total, n == 0 ? "end of input" : "read error");
		return n == 0 ? 0 : 1;
	}
	if (!strcmp(mode, "bytes")) {
		unsigned char all[256];
		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		fwrite(all, 1, sizeof all, stdout);
		printf("\nunix line\nwindows line\r\n\n\ttabbed\nno newline at the end");
		return 0;
	}
	if (!strcmp(mode, "flood")) {
		for (unsigned long i = 0;; i++) {
			char line[32];
			int n = snprintf(line, sizeof line, "line %lu\n", i);
			if (write(1, line, (size_t)n) != n) {
				perror("flood: write");
				return 1;
			}
		}
	}
	fprintf(stderr, "usage: lifecycle handler|ignore|cat|bytes|flood\n");
	return 2;
}
