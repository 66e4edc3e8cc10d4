/* tcpto: the table of remote hosts that timed out (see tcpto.h). */
#include "mail/tcpto.h"
#include "mail/instance.h"
#include "lib/fs.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static unsigned char table[TCPTO_N * TCPTO_REC];

/* Open and lock the table and read it; returns the fd (locked) and the
 * number of records in *n, or -1. */
static int load(size_t *n, int writable)
{
	buf path = BUF_INIT;
	ssize_t r;
	size_t got = 0;
	int fd, e;

	nq_path(&path, "queue/lock/tcpto");
	fd = open(path.s, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
	buf_free(&path);
	if (fd < 0) return -1;
	if (lock_ex(fd) < 0) { e = errno; close(fd); errno = e; return -1; }
	while (got < sizeof table) {
		r = pread(fd, table + got, sizeof table - got, (off_t)got);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) { e = errno; close(fd); errno = e; return -1; }
		if (r == 0) break;
		got += (size_t)r;
	}
	*n = got / TCPTO_REC;
	return fd;
}

static time_t getwhen(const unsigned char *rec)
{
	unsigned long long w = 0;
	int i;
	for (i = 7; i >= 0; i--) w = w << 8 | rec[8 + i];
	return (time_t)w;
}

static void setwhen(unsigned char *rec, time_t t)
{
	unsigned long long w = (unsigned long long)t;
	int i;
	for (i = 0; i < 8; i++) { rec[8 + i] = (unsigned char)w; w >>= 8; }
}

static int same(const unsigned char *rec, const ipaddr *ip)
{
	int fam = ip->family == AF_INET6 ? 6 : 4;
	return rec[0] == fam && !memcmp(rec + 16, ip->a, ipaddr_len(ip));
}

/* Whether the address last asked about had a record: a success for an
 * address without one changes nothing, and costs no second look (qmail's
 * shortcut). */
static ipaddr lastip;
static int lastthere = 1;

int tcpto_skip(const ipaddr *ip, time_t now)
{
	size_t n, i;
	int fd = load(&n, 0);
	lastip = *ip;
	lastthere = 1;
	if (fd < 0) return 0;
	close(fd);
	for (i = 0; i < n; i++) {
		const unsigned char *rec = table + i * TCPTO_REC;
		if (!same(rec, ip)) continue;
		if (rec[1] >= 2 && now - getwhen(rec) < (time_t)((60 + (getpid() & 31)) << 6)) return 1;
		return 0;
	}
	lastthere = 0;
	return 0;
}

void tcpto_record(const ipaddr *ip, int timedout, time_t now)
{
	size_t n, i, pick;
	unsigned char *rec;
	int fd;

	if (!timedout && !lastthere && ipaddr_eq(ip, &lastip)) return;
	fd = load(&n, 1);
	if (fd < 0) return;
	for (i = 0; i < n; i++) if (same(table + i * TCPTO_REC, ip)) break;
	if (i < n) {
		rec = table + i * TCPTO_REC;
		if (!timedout) {
			if (!rec[1]) { close(fd); return; }
			rec[1] = 0;
		} else {
			if (rec[1] && now < getwhen(rec) + 120) { close(fd); return; }
			if (rec[1] < 10) rec[1]++;
			setwhen(rec, now);
		}
	} else {
		if (!timedout) { close(fd); return; }
		/* a free record, a new one at the end, or the stalest */
		for (pick = 0; pick < n; pick++) if (!table[pick * TCPTO_REC + 1]) break;
		if (pick == n && n == TCPTO_N) {
			time_t best = 0;
			for (i = 0; i < n; i++) {
				const unsigned char *r = table + i * TCPTO_REC;
				time_t w = getwhen(r) + ((time_t)r[1] << 10);
				if (i == 0 || w < best) { best = w; pick = i; }
			}
		}
		i = pick;
		rec = table + i * TCPTO_REC;
		memset(rec, 0, TCPTO_REC);
		rec[0] = ip->family == AF_INET6 ? 6 : 4;
		rec[1] = 1;
		setwhen(rec, now);
		memcpy(rec + 16, ip->a, ipaddr_len(ip));
	}
	(void)!pwrite(fd, rec, TCPTO_REC, (off_t)(i * TCPTO_REC));
	close(fd);
}

int tcpto_list(tcpto_ent *out)
{
	size_t n, i;
	int k = 0;
	int fd = load(&n, 0);
	if (fd < 0) return -1;
	close(fd);
	for (i = 0; i < n; i++) {
		const unsigned char *rec = table + i * TCPTO_REC;
		if (!rec[1] || (rec[0] != 4 && rec[0] != 6)) continue;
		memset(&out[k].ip, 0, sizeof out[k].ip);
		out[k].ip.family = rec[0] == 6 ? AF_INET6 : AF_INET;
		memcpy(out[k].ip.a, rec + 16, ipaddr_len(&out[k].ip));
		out[k].errors = rec[1];
		out[k].when = getwhen(rec);
		k++;
	}
	return k;
}

int tcpto_clear(void)
{
	buf path = BUF_INIT;
	int fd, r = -1, e;

	nq_path(&path, "queue/lock/tcpto");
	fd = open(path.s, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	buf_free(&path);
	if (fd < 0) return -1;
	if (lock_ex(fd) == 0 && ftruncate(fd, 0) == 0) r = 0;
	e = errno;
	close(fd);
	errno = e;
	return r;
}
