/* nqbench: the timing helper of bench/run (not part of nqmail).
 *
 * Python is too slow and too noisy to fork thousands of sendmail processes
 * on a 2-core machine, and polling Maildirs would eat the CPU we want to
 * measure. So the two timed jobs live here:
 *
 *   nqbench inject [-c PROCS] [-W LIST] [-w DIR]... -e EXPECT -p LOOPS
 *                  -n COUNT -m MSGFILE [-t TIMEOUT] -- CMD [ARG...]
 *     Watches the directories (Maildir/new) with inotify, then starts LOOPS
 *     parallel loops, each running CMD COUNT times with MSGFILE on stdin.
 *     Each CMD process first moves itself into the cgroup whose cgroup.procs
 *     file is PROCS (so the MTA's CPU accounting includes its injector and
 *     nothing of ours). It stops when EXPECT new entries have appeared in
 *     the watched directories, or after TIMEOUT seconds (default 300), and
 *     prints one line:
 *       inject_s=S deliver_s=S delivered=N failed=F inject_cpu_s=S
 *     inject_s is from the first fork until the last CMD exited, deliver_s
 *     from the first fork until the last expected entry appeared, and
 *     inject_cpu_s is the user+sys time of the CMD processes and of the
 *     children they waited for (getrusage RUSAGE_CHILDREN of the loops).
 *     Exit 0 when everything was injected and delivered, 1 otherwise.
 *
 *   nqbench watch [-W LIST] [-w DIR]... -e TOTAL [-t TIMEOUT]
 *     Watches the directories, prints "ready" once the watches are set,
 *     then waits for a line on stdin (the caller's "go", sent just before
 *     it lets the MTA deliver) and from then until the directories hold
 *     TOTAL entries in all, or TIMEOUT seconds have passed; prints
 *       deliver_s=S delivered=N
 *     (the time from "go", and the entries now present). Exit 0 when
 *     TOTAL was reached, 1 otherwise. Used to time a queue draining.
 *
 *   nqbench fsync DIR SECONDS
 *     Creates new files in DIR, each with 4 KB written and fsynced, for
 *     SECONDS; prints "fsync_per_s=R files=N" and removes the files.
 *     The same with the directory fsynced after each file is printed as
 *     "fsync_dir_per_s=R" (what a durable queue writer really pays). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXWATCH 100000

static void die(const char *what)
{
	fprintf(stderr, "nqbench: %s: %s\n", what, strerror(errno));
	exit(111);
}

static void usage(void)
{
	fprintf(stderr, "usage: nqbench inject [-c PROCS] [-W LIST] [-w DIR]... -e EXPECT "
	        "-p LOOPS -n COUNT -m MSGFILE [-t TIMEOUT] -- CMD [ARG...]\n"
	        "       nqbench watch [-W LIST] [-w DIR]... -e TOTAL [-t TIMEOUT]\n"
	        "       nqbench fsync DIR SECONDS\n");
	exit(100);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(s, &end, 10);
	if (errno || end == s || *end) usage();
	return n;
}

/* ---- the watched directories ---------------------------------------- */

static char **dirs;
static size_t ndirs, capdirs;

static void adddir(const char *d)
{
	if (ndirs == capdirs) {
		if (capdirs >= MAXWATCH) { errno = E2BIG; die("too many directories"); }
		capdirs = capdirs ? capdirs * 2 : 16;
		char **n = realloc(dirs, capdirs * sizeof *n);
		if (!n) die("realloc");
		dirs = n;
	}
	dirs[ndirs] = strdup(d);
	if (!dirs[ndirs]) die("strdup");
	ndirs++;
}

static void readlist(const char *fn)
{
	FILE *f = fopen(fn, "r");
	if (!f) die(fn);
	char line[PATH_MAX + 2];
	while (fgets(line, sizeof line, f)) {
		size_t n = strlen(line);
		if (n && line[n - 1] == '\n') line[--n] = 0;
		if (n) adddir(line);
	}
	fclose(f);
}

/* Entries (not . or ..) now in every watched directory. */
static unsigned long countall(void)
{
	unsigned long total = 0;
	for (size_t i = 0; i < ndirs; i++) {
		DIR *d = opendir(dirs[i]);
		if (!d) die(dirs[i]);
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') total++;
		closedir(d);
	}
	return total;
}

/* An inotify descriptor watching every directory for new entries. */
static int watchall(void)
{
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in < 0) die("inotify_init1");
	for (size_t i = 0; i < ndirs; i++)
		if (inotify_add_watch(in, dirs[i], IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0)
			die(dirs[i]);
	return in;
}

/* Empty the inotify queue: the number of new entries it reported, or
 * ULONG_MAX when it overflowed (then only a count can tell). */
static unsigned long drain(int in)
{
	char ev[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	unsigned long n = 0;
	for (;;) {
		ssize_t r = read(in, ev, sizeof ev);
		if (r < 0) {
			if (errno == EAGAIN) return n;
			if (errno == EINTR) continue;
			die("read inotify");
		}
		for (char *p = ev; p < ev + r;) {
			struct inotify_event *e = (struct inotify_event *)(void *)p;
			if (e->mask & IN_Q_OVERFLOW) n = ULONG_MAX;
			else if (n != ULONG_MAX && !(e->mask & IN_ISDIR) && e->len && e->name[0] != '.') n++;
			p += sizeof *e + e->len;
		}
	}
}

/* ---- the injecting loops --------------------------------------------- */

static void child(const char *procs, const char *msg, char **cmd)
{
	if (procs) {
		int fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0\n", 2) != 2) die(procs);
		close(fd);
	}
	int m = open(msg, O_RDONLY);
	if (m < 0) die(msg);
	if (dup2(m, 0) < 0) die("dup2");
	close(m);
	execv(cmd[0], cmd);
	die(cmd[0]);
}

/* One loop: run cmd count times, one after the other. Exit status: the
 * number of failed runs (at most 255). */
static _Noreturn void loop(pid_t parent, unsigned long count, const char *procs, const char *msg,
                           char **cmd)
{
	unsigned long failed = 0;
	/* When the bench is interrupted and kills us, the loops stop too. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(111);
	for (unsigned long i = 0; i < count; i++) {
		pid_t p = fork();
		if (p < 0) die("fork");
		if (p == 0) child(procs, msg, cmd);
		int st;
		while (waitpid(p, &st, 0) < 0)
			if (errno != EINTR) die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			if (failed < 5)
				fprintf(stderr, "nqbench: %s exited with status %d\n", cmd[0],
				        WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			failed++;
		}
	}
	_exit(failed > 255 ? 255 : (int)failed);
}

static int inject(int argc, char **argv)
{
	const char *procs = 0, *msg = 0;
	unsigned long expect = 0, loops = 1, count = 1, timeout = 300;
	int opt;
	while ((opt = getopt(argc, argv, "+c:W:w:e:p:n:m:t:")) != -1) {
		switch (opt) {
		case 'c': procs = optarg; break;
		case 'W': readlist(optarg); break;
		case 'w': adddir(optarg); break;
		case 'e': expect = num(optarg); break;
		case 'p': loops = num(optarg); break;
		case 'n': count = num(optarg); break;
		case 'm': msg = optarg; break;
		case 't': timeout = num(optarg); break;
		default: usage();
		}
	}
	char **cmd = argv + optind;
	if (!*cmd || !msg || !loops || loops > 1000) usage();

	int in = watchall();
	unsigned long base = countall(), seen = base;
	if (base) fprintf(stderr, "nqbench: %lu entries already present before injection\n", base);
	expect += base;

	double t0 = now(), tinj = 0, tdone = 0;
	pid_t self = getpid();
	pid_t *pids = calloc(loops, sizeof *pids);
	if (!pids) die("calloc");
	for (unsigned long i = 0; i < loops; i++) {
		pids[i] = fork();
		if (pids[i] < 0) die("fork");
		if (pids[i] == 0) { close(in); loop(self, count, procs, msg, cmd); }
	}

	unsigned long running = loops, failed = 0;
	char ev[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (running || seen < expect) {
		if (!running && now() - t0 > (double)timeout) break;
		/* a failed injection means the count can never be reached */
		if (!running && failed && now() - tinj > 10) break;
		if (running && now() - t0 > (double)timeout * 2) break;
		struct pollfd pfd = { .fd = in, .events = POLLIN };
		if (poll(&pfd, 1, running ? 20 : 100) < 0 && errno != EINTR) die("poll");
		for (;;) {
			ssize_t r = read(in, ev, sizeof ev);
			if (r < 0) {
				if (errno == EAGAIN) break;
				if (errno == EINTR) continue;
				die("read inotify");
			}
			for (char *p = ev; p < ev + r;) {
				struct inotify_event *e = (struct inotify_event *)(void *)p;
				if (e->mask & IN_Q_OVERFLOW) seen = countall();
				else if (!(e->mask & IN_ISDIR) && e->len && e->name[0] != '.') seen++;
				p += sizeof *e + e->len;
			}
		}
		if (seen >= expect && !tdone) {
			/* The events only woke us: the directories are the truth (an
			 * MTA that renames inside new/ would be counted twice). */
			unsigned long t = countall();
			if (t >= expect) tdone = now();
			else seen = t;
		}
		for (unsigned long i = 0; i < loops; i++) {
			int st;
			if (!pids[i] || waitpid(pids[i], &st, WNOHANG) != pids[i]) continue;
			pids[i] = 0;
			running--;
			if (!WIFEXITED(st)) failed += count;
			else failed += (unsigned long)WEXITSTATUS(st);
			if (!running) tinj = now();
		}
	}
	unsigned long total = countall();
	if (total < expect) tdone = 0;
	if (running) {
		for (unsigned long i = 0; i < loops; i++)
			if (pids[i]) kill(pids[i], SIGTERM);
		fprintf(stderr, "nqbench: injection did not finish within %lus\n", timeout * 2);
	}
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
	           + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("inject_s=%.3f deliver_s=%.3f delivered=%lu failed=%lu inject_cpu_s=%.3f\n",
	       tinj ? tinj - t0 : -1.0, tdone ? tdone - t0 : -1.0, total - base, failed, cpu);
	return (!running && !failed && total >= expect) ? 0 : 1;
}

/* ---- a queue draining -------------------------------------------------- */

static int watch(int argc, char **argv)
{
	unsigned long total = 0, timeout = 300;
	int opt;
	while ((opt = getopt(argc, argv, "+W:w:e:t:")) != -1) {
		switch (opt) {
		case 'W': readlist(optarg); break;
		case 'w': adddir(optarg); break;
		case 'e': total = num(optarg); break;
		case 't': timeout = num(optarg); break;
		default: usage();
		}
	}
	if (argv[optind] || !ndirs) usage();
	int in = watchall();
	printf("ready\n");
	fflush(stdout);
	char go[16];
	if (!fgets(go, sizeof go, stdin)) { errno = EPIPE; die("no go on stdin"); }
	double t0 = now(), tdone = 0;
	/* Count once now, then add up the events; a full count (a readdir of
	 * thousands of entries) only when the events say we are there, as in
	 * inject. Emptied before the count, the events can only count an
	 * entry twice, never miss one, and the full count corrects that. */
	(void)drain(in);
	unsigned long seen = countall();
	while (now() - t0 < (double)timeout) {
		if (seen >= total) {
			seen = countall();
			if (seen >= total) { tdone = now(); break; }
		}
		struct pollfd pfd = { .fd = in, .events = POLLIN };
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR) die("poll");
		unsigned long n = drain(in);
		seen = n == ULONG_MAX ? countall() : seen + n;
	}
	if (!tdone) seen = countall();
	printf("deliver_s=%.3f delivered=%lu\n", tdone ? tdone - t0 : -1.0, seen);
	return seen >= total ? 0 : 1;
}

/* ---- the disk's own limit -------------------------------------------- */

static double fsyncrate(const char *dir, double secs, int dirsync, unsigned long *files)
{
	char buf[4096], fn[PATH_MAX];
	memset(buf, 'x', sizeof buf);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0) die(dir);
	unsigned long n = 0;
	double t0 = now(), t = t0;
	while (t - t0 < secs) {
		snprintf(fn, sizeof fn, "%s/f%lu", dir, n);
		int fd = open(fn, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0) die(fn);
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) die("write");
		if (fsync(fd) < 0) die("fsync");
		close(fd);
		if (dirsync && fsync(dfd) < 0) die("fsync dir");
		n++;
		t = now();
	}
	for (unsigned long i = 0; i < n; i++) {
		snprintf(fn, sizeof fn, "%s/f%lu", dir, i);
		unlink(fn);
	}
	close(dfd);
	*files = n;
	return (double)n / (t - t0);
}

static int fsyncmain(int argc, char **argv)
{
	if (argc != 3) usage();
	double secs = (double)num(argv[2]);
	unsigned long n1, n2;
	double r1 = fsyncrate(argv[1], secs, 0, &n1);
	double r2 = fsyncrate(argv[1], secs, 1, &n2);
	printf("fsync_per_s=%.0f files=%lu fsync_dir_per_s=%.0f\n", r1, n1, r2);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) usage();
	if (!strcmp(argv[1], "inject")) return inject(argc - 1, argv + 1);
	if (!strcmp(argv[1], "watch")) return watch(argc - 1, argv + 1);
	if (!strcmp(argv[1], "fsync")) return fsyncmain(argc - 1, argv + 1);
	usage();
}
