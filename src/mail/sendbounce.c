/* sendbounce: bounces of finished messages (see sendbounce.h). */
#include "mail/sendbounce.h"
#include "mail/bounce.h"
#include "mail/envelope.h"
#include "mail/qrec.h"
#include "mail/queue.h"
#include "mail/sendlog.h"
#include "mail/verp.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAX (ENVELOPE_ADDR_MAX + 8)
#define VERP_BATCH 32         /* per-recipient bounces queued per call */

static buf fn, fn2;
static const char *qfn(const char *dir, unsigned long id) { return queue_fn(&fn, dir, id); }
static const char *qfn2(const char *dir, unsigned long id) { return queue_fn(&fn2, dir, id); }

/* The sender and birth of message id from info/S/N: 1, or 0 (logged). */
int sendbounce_info(unsigned long id, buf *sender, time_t *birth)
{
	io_in in;
	struct stat st;
	size_t used;
	int fd = open(qfn("info", id), O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) { slog_warn("unable to open ", "info", id, ""); return 0; }
	if (fstat(fd, &st) < 0) { close(fd); slog_warn("unable to stat ", "info", id, ""); return 0; }
	in_init(&in, fd, 0);
	r = qrec_get(&in, sender, REC_MAX, &used);
	close(fd);
	if (r != 1 || !sender->len || sender->s[0] != 'F') {
		slog_warn("trouble reading ", "info", id, "");
		return 0;
	}
	memmove(sender->s, sender->s + 1, sender->len);   /* drop 'F', keep the NUL */
	sender->len--;
	*birth = st.st_mtime;
	return 1;
}

/* Queue one bounce of message id: to `to`, showing the original with the
 * return path rp, from the blocks of bounce/N (fdb) at off, len (len 0:
 * all of them). 1 queued (logged), 0 not (logged; try again later). */
static int queuebounce(const sendbounce_cfg *cfg, time_t now, unsigned long id, int fdb, const char *to, const char *rp, time_t birth,
                       unsigned long long off, unsigned long long len)
{
	static buf why;
	bounce_msg m;
	unsigned long qp;
	char bnd[BOUNCE_BOUNDARY_MAX];
	sigset_t none, old;
	int fdm, k;

	fdm = open(qfn("mess", id), O_RDONLY | O_CLOEXEC);
	if (fdm < 0) { slog_warn("unable to open ", "mess", id, ""); return 0; }
	memset(&m, 0, sizeof m);
	m.host = cfg->host;
	m.fromuser = cfg->fromuser;
	m.sender = rp;
	m.dbl = !*rp;
	m.to = to;
	m.now = now;
	m.arrival = birth;
	m.id = id;
	m.blkoff = off;
	m.blklen = len;
	bounce_boundary(bnd, id);
	m.boundary = bnd;
	/* qmail-queue must not inherit our blocked signals (its own
	 * alarm would never fire); let them in while it runs. */
	why.len = 0;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, &old);
	k = bounce_queue(&m, fdb, fdm, &qp, &why);
	sigprocmask(SIG_SETMASK, &old, 0);
	close(fdm);
	if (k) {
		slog_puts("warning: trouble injecting bounce message, will try later: ");
		slog_safe(why.s, why.len);
		slog_puts("\n");
		return 0;
	}
	slog_puts("bounce msg "); slog_num(id); slog_puts(" qp "); slog_num(qp); slog_puts("\n");
	return 1;
}

/* The bounces of a VERP message: one per failed recipient, each to the
 * return path that recipient's delivery had (src/mail/verp.h), so its
 * owner learns who failed from the address alone. Each block of bounce/N
 * is marked sent once its bounce is queued, and at most VERP_BATCH go per
 * call, so a list with thousands of failures neither holds up the
 * deliveries nor, after a crash or a failed qmail-queue, sends the
 * bounces already queued again. 1 all sent, 2 more to do, 0 try again
 * later (logged). */
static struct { unsigned long id; unsigned long long pos; } verpat;   /* where to go on */

static int verpbounces(const sendbounce_cfg *cfg, time_t now, unsigned long id, int fdb, const char *sender, time_t birth)
{
	static buf to;
	static bounce_blk blk;
	io_in in;
	unsigned long long pos = verpat.id == id ? verpat.pos : 0;
	int k, sent = 0;

	if (lseek(fdb, (off_t)pos, SEEK_SET) < 0) { slog_warn("trouble reading ", "bounce", id, ""); return 0; }
	in_init(&in, fdb, 0);
	while ((k = bounce_nextblk(&in, &pos, &blk)) == 1) {
		off_t at;
		if (blk.sent) continue;
		if (sent == VERP_BATCH) { verpat.id = id; verpat.pos = blk.off; return 2; }
		/* a block without a domain (it cannot come from us) goes to the owner */
		if (verp_sender(&to, sender, blk.addr.s) < 0 || (str_eq(to.s, sender) && verp_owner(&to, sender) < 0)) {
			slog_puts("alert: out of memory, sleeping...\n");
			return 0;
		}
		at = lseek(fdb, 0, SEEK_CUR);   /* the reader's place, past its buffer */
		if (at < 0) break;
		if (!queuebounce(cfg, now, id, fdb, to.s, to.s, birth, blk.off, blk.len)) return 0;
		if (bounce_marksent(fdb, blk.off) < 0) slog_warn("trouble marking ", "bounce", id, "; a bounce may go twice");
		if (lseek(fdb, at, SEEK_SET) < 0) break;
		sent++;
	}
	verpat.id = 0;
	if (k != 0) { slog_warn("trouble reading ", "bounce", id, ""); return 0; }
	return 1;
}

/* Queue the bounce(s) for message id if it has any: 1 done (or nothing
 * to do), 2 more to do at once, 0 try again later (logged). */
int sendbounce_inject(unsigned long id, const sendbounce_cfg *cfg, time_t now)
{
	static buf sender, to;
	time_t birth;
	int fdb, r = 0, k = 0;

	fdb = open(qfn2("bounce", id), O_RDWR | O_CLOEXEC);   /* RDWR: VERP's sent marks */
	if (fdb < 0) {
		if (errno == ENOENT) return 1;
		slog_warn("unable to open ", "bounce", id, "");
		return 0;
	}
	if (!sendbounce_info(id, &sender, &birth)) goto out;
	/* "#@[]" is the sender qmail gives double bounces */
	if (str_eq(sender.s, "#@[]") || (!sender.len && (k = bounce_only_to(fdb, cfg->dbto)) != 0)) {
		if (k < 0) { slog_warn("trouble reading ", "bounce", id, ""); goto out; }
		slog_puts("triple bounce: discarding "); slog_fn("bounce", id); slog_puts("\n");
	} else if (verp_is(sender.s)) {
		r = verpbounces(cfg, now, id, fdb, sender.s, birth);
		if (r != 1) goto out;
		r = 0;
	} else {
		/* a bounce of a bounce goes to doublebounceto; owner-@host-@[]
		 * that is not VERP proper loses its "-@[]" (qmail's rule) */
		if (sender.len ? verp_owner(&to, sender.s) < 0 : buf_copys(&to, cfg->dbto) < 0) {
			slog_puts("alert: out of memory, sleeping...\n");
			goto out;
		}
		if (!queuebounce(cfg, now, id, fdb, to.s, sender.len ? to.s : "", birth, 0, 0)) goto out;
	}
	if (unlink(qfn2("bounce", id)) < 0) { slog_warn("unable to unlink ", "bounce", id, ""); goto out; }
	r = 1;
out:
	close(fdb);
	return r;
}

