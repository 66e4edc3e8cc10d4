/* fdlimit: raising RLIMIT_NOFILE; see fdlimit.h. */
#include "lib/fdlimit.h"
#include <sys/resource.h>

unsigned long fd_limit_raise(unsigned long want)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0) return 1024;   /* POSIX's usual default */
	if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < (rlim_t)want) {
		rlim_t old = r.rlim_cur;
		r.rlim_cur = r.rlim_max != RLIM_INFINITY && r.rlim_max < (rlim_t)want ? r.rlim_max : (rlim_t)want;
		if (setrlimit(RLIMIT_NOFILE, &r) < 0) r.rlim_cur = old;
	}
	if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur > (rlim_t)(unsigned long)-1) return (unsigned long)-1;
	return (unsigned long)r.rlim_cur;
}
