/*
 * check.h: the reporting convention of the event API test programs. Each check prints one line,
 * "NAME: ok" or "NAME: FAIL (detail)"; check_status() prints the final line, "status: ok" or
 * "status: FAIL (N checks)", and returns the exit status (0 or 1). Lines starting with
 * "info:" carry measurements (times) and are left out when tests/event.rs compares a host
 * run with a Kiln run; every other line must be the same on both.
 */
#ifndef KILN_EVENT_CHECK_H
#define KILN_EVENT_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(name, cond, ...)                                  \
	do {                                                    \
		if (cond) {                                     \
			printf("%s: ok\n", name);               \
		} else {                                        \
			printf("%s: FAIL (", name);             \
			printf(__VA_ARGS__);                    \
			printf(")\n");                          \
			check_failures++;                       \
		}                                               \
	} while (0)

static inline int check_status(void)
{
	if (check_failures)
		printf("status: FAIL (%d checks)\n", check_failures);
	else
		printf("status: ok\n");
	fflush(stdout);
	return check_failures ? 1 : 0;
}

#endif
