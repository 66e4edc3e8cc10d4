/* tap.h: minimal TAP output for C unit tests. */
#ifndef NQ_TAP_H
#define NQ_TAP_H
#include <stdio.h>
static int tap_n, tap_fail;
#define ok(cond, name) do { ++tap_n; if (cond) printf("ok %d - %s\n", tap_n, name); \
	else { tap_fail++; printf("not ok %d - %s (%s:%d)\n", tap_n, name, __FILE__, __LINE__); } } while (0)
#define done_testing() (printf("1..%d\n", tap_n), tap_fail ? 1 : 0)
#endif
