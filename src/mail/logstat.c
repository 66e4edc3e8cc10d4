/* logstat: the streaming analysis of qmail-send's log (see logstat.h for
 * the definitions and the memory promise). */
#include "mail/logstat.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SENDERMAX 512
#define DOMAINMAX 255
#define REASONMAX 240

const unsigned long logstat_dclass[DCLASS_N] = {
	1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 604800, 0
};
const char *const logstat_dclass_name[DCLASS_N] = {
	"<1s", "1-2s", "2-5s", "5-10s", "10-30s", "30-60s", "1-2m", "2-5m", "5-10m", "10-30m",
	"30-60m", "1-2h", "2-6h", "6-24h", "1-7d", ">7d"
};

struct msg {
	long long birth, lastdone;
	int hasnew, hasbirth, hasinfo, hasdone;
	int kind;                      /* 0 normal, 1 from <> (a bounce), 2 from #@[] (a double bounce) */
	unsigned long long bytes;
	unsigned long k, d, z, tries;
	char *sender;
	size_t senderlen;
};

struct del {
	unsigned long long msg;
	long long start;
	int hasstart;
	int chan;
	size_t domlen;
	char dom[DOMAINMAX + 1];
};

/* ---- histogram ------------------------------------------------------- */

static size_t hist_idx(unsigned long long v)
{
	int e = 63;
	size_t i;
	if (v < 2 * HIST_SUB) return (size_t)v;
	while (!(v >> e)) e--;                          /* e >= 11 */
	i = 2 * HIST_SUB + (size_t)(e - 11) * HIST_SUB + (size_t)((v >> (e - 10)) - HIST_SUB);
	return i < HIST_N ? i : HIST_N - 1;
}

static int hist_add(struct hist *h, unsigned long long v)
{
	size_t i = hist_idx(v);
	if (!h->count) {
		h->count = calloc(HIST_N, sizeof *h->count);
		h->low = calloc(HIST_N, sizeof *h->low);
		if (!h->count || !h->low) {
			free(h->count); free(h->low);
			h->count = h->low = 0;
			return -1;
		}
	}
	if (!h->count[i] || v < h->low[i]) h->low[i] = v;
	h->count[i]++;
	h->n++;
	h->sum += v;
	if (v > h->max) h->max = v;
	return 0;
}

unsigned long long hist_pct(const struct hist *h, double p)
{
	unsigned long long rank, c = 0;
	size_t i;
	if (!h->n || !h->count) return 0;
	rank = (unsigned long long)(p / 100.0 * (double)h->n);
	if ((double)rank < p / 100.0 * (double)h->n) rank++;     /* ceil */
	if (rank < 1) rank = 1;
	if (rank >= h->n) return h->max;
	for (i = 0; i < HIST_N; i++) {
		c += h->count[i];
		if (c >= rank) return h->low[i];
	}
	return h->max;
}

/* ---- time: hours and series ----------------------------------------- */

static struct hourrow *hourof(logstat *s, long long t_us)
{
	long long t = t_us / 1000000, key;
	size_t lo, hi;
	if (t < s->hlo || t >= s->hhi) {
		time_t tt = (time_t)t;
		struct tm tm;
		if (!localtime_r(&tt, &tm)) return 0;
		s->hlo = t - tm.tm_min * 60 - tm.tm_sec;
		s->hhi = s->hlo + 3600;
	}
	key = s->hlo;
	if (s->nhours && s->hours[s->hcur].start == key) return &s->hours[s->hcur];
	lo = 0; hi = s->nhours;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->hours[mid].start < key) lo = mid + 1; else hi = mid;
	}
	if (lo == s->nhours || s->hours[lo].start != key) {
		if (s->nhours == s->caphours) {
			size_t nc = s->caphours ? s->caphours * 2 : 64;
			struct hourrow *nh;
			if (nc > SIZE_MAX / sizeof *nh) return 0;
			nh = realloc(s->hours, nc * sizeof *nh);
			if (!nh) return 0;
			s->hours = nh;
			s->caphours = nc;
		}
		memmove(&s->hours[lo + 1], &s->hours[lo], (s->nhours - lo) * sizeof *s->hours);
		memset(&s->hours[lo], 0, sizeof *s->hours);
		s->hours[lo].start = key;
		s->nhours++;
	}
	s->hcur = lo;
	return &s->hours[lo];
}

static void coarsen(struct series *r)
{
	size_t i;
	int k;
	for (i = 0; i < NSER / 2; i++) {
		size_t a = 2 * i, b = 2 * i + 1;
		for (k = S_ATTEMPT; k <= S_DEFERRAL; k++) r->v[k][i] = r->v[k][a] + r->v[k][b];
		for (k = S_LPEAK; k <= S_RPEAK; k++) r->v[k][i] = r->v[k][a] > r->v[k][b] ? r->v[k][a] : r->v[k][b];
		for (k = S_LLAST; k <= S_RLAST; k++) r->v[k][i] = r->touched[b] ? r->v[k][b] : r->v[k][a];
		r->touched[i] = r->touched[a] | r->touched[b];
	}
	for (k = 0; k < S_NUM; k++) memset(&r->v[k][NSER / 2], 0, NSER / 2 * sizeof r->v[k][0]);
	memset(&r->touched[NSER / 2], 0, NSER / 2);
	r->width *= 2;
	r->used = (r->used + 1) / 2;
}

static size_t bucket(struct series *r, long long t_us)
{
	long long t = t_us / 1000000;
	long long i;
	if (!r->started) {
		r->started = 1;
		r->origin = t - ((t % 60) + 60) % 60;
		r->width = 60;
	}
	if (t < r->origin) {              /* the clock went back before the first line */
		if (!r->used) r->used = 1;
		return 0;
	}
	for (;;) {
		i = (t - r->origin) / r->width;
		if (i < NSER) break;
		if (r->width > (1LL << 40)) { i = NSER - 1; break; }
		coarsen(r);
	}
	if ((size_t)i + 1 > r->used) r->used = (size_t)i + 1;
	return (size_t)i;
}

/* ---- tables ------------------------------------------------------------ */

static int count(tally *t, const char *k, size_t n, int col, unsigned long long add)
{
	struct tally_ent *e = tally_get(t, k, n);
	if (!e) return -1;
	e->v[col] += add;
	return 0;
}

void logstat_reason(buf *out, const char *s, size_t n)
{
	size_t i = 0;
	out->len = 0;
	while (n && s[n - 1] == '/') n--;
	while (i < n && out->len < REASONMAX) {
		char c = s[i];
		if (c == '<') {
			size_t j = i + 1;
			while (j < n && j - i < 256 && s[j] != '>' && s[j] != ' ') j++;
			if (j < n && s[j] == '>') {
				if (buf_puts(out, "<*>") < 0) return;
				i = j + 1;
				continue;
			}
		}
		if (c >= '0' && c <= '9') {
			size_t j = i;
			while (j < n && s[j] >= '0' && s[j] <= '9') j++;
			if (j - i >= 5) {
				if (buf_putc(out, '#') < 0) return;
				i = j;
				continue;
			}
			if (buf_put(out, s + i, j - i) < 0) return;
			i = j;
			continue;
		}
		if ((unsigned char)c < 32 || c == 127) c = '?';
		if (buf_putc(out, c) < 0) return;
		i++;
	}
}

static void domainof(const char *r, size_t n, struct del *d)
{
	size_t at = n, i;
	for (i = n; i > 0; i--)
		if (r[i - 1] == '@') { at = i - 1; break; }
	if (at == n) { memcpy(d->dom, "(none)", 7); d->domlen = 6; return; }
	r += at + 1;
	n -= at + 1;
	if (n > DOMAINMAX) n = DOMAINMAX;
	for (i = 0; i < n; i++) {
		char c = r[i];
		if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
		if ((unsigned char)c < 32 || c == 127) c = '?';
		d->dom[i] = c;
	}
	d->dom[n] = 0;
	d->domlen = n;
}

/* ---- state in flight -------------------------------------------------- */

static void msg_free(struct msg *m)
{
	if (!m) return;
	free(m->sender);
	free(m);
}

static struct msg *msg_get(logstat *s, unsigned long long id, int create)
{
	struct msg *m = idmap_get(&s->msgs, id);
	if (m || !create) return m;
	m = calloc(1, sizeof *m);
	if (!m) return 0;
	if (idmap_put(&s->msgs, id, m) < 0) { free(m); return 0; }
	return m;
}

static const char *sendkey(const struct msg *m, size_t *n)
{
	if (!m || !m->hasinfo) { *n = 9; return "(unknown)"; }
	if (!m->senderlen) { *n = 2; return "<>"; }
	*n = m->senderlen;
	return m->sender;
}

int logstat_init(logstat *s, size_t topcap)
{
	memset(s, 0, sizeof *s);
	s->hlo = s->hhi = 0;
	if (tally_init(&s->failreasons, topcap, REASONMAX) < 0 ||
	    tally_init(&s->deferreasons, topcap, REASONMAX) < 0 ||
	    tally_init(&s->deferdomains, topcap, DOMAINMAX) < 0 ||
	    tally_init(&s->senders, topcap, SENDERMAX) < 0 ||
	    tally_init(&s->rdomains, topcap, DOMAINMAX) < 0 ||
	    tally_init(&s->alerts, topcap, REASONMAX) < 0) {
		logstat_free(s);
		return -1;
	}
	return 0;
}

static void drop_dels(logstat *s)
{
	size_t i = 0;
	unsigned long long k;
	void *v;
	while (idmap_next(&s->dels, &i, &k, &v)) free(v);
	s->tot.lost_del += s->dels.n;
	idmap_free(&s->dels);
}

static int result(logstat *s, const struct logline *l, int ht, long long t)
{
	static buf why;
	struct del *d = idmap_del(&s->dels, l->del);
	struct msg *m = d ? msg_get(s, d->msg, 0) : 0;
	struct hourrow *h = ht ? hourof(s, t) : 0;
	int kind = l->ev == LE_SUCCESS ? 0 : l->ev == LE_FAILURE ? 1 : 2;
	unsigned long long xd = 0;
	const char *sk;
	size_t skl;
	int r = 0;

	if (ht && !h) { free(d); return -1; }
	s->tot.attempts++;
	if (kind == 0) s->tot.success++;
	else if (kind == 1) s->tot.failure++;
	else s->tot.deferral++;
	if (!d) s->tot.unknown_del++;
	if (d && d->hasstart && ht) {
		if (t < d->start) s->tot.clock_neg++;
		else xd = (unsigned long long)(t - d->start);
	}
	s->tot.xdelay_us += xd;
	if (d && d->chan == 0) s->tot.local[kind]++;
	if (d && d->chan == 1) s->tot.remote[kind]++;
	if (h) {
		size_t b = bucket(&s->ser, t);
		h->attempts++;
		if (d && d->chan == 0) h->local++;
		if (d && d->chan == 1) h->remote++;
		if (kind == 0) h->success++;
		else if (kind == 1) h->failure++;
		else h->deferral++;
		s->ser.v[S_ATTEMPT][b]++;
		s->ser.v[S_SUCCESS + kind][b]++;
	}
	sk = sendkey(m, &skl);
	if (kind == 0) {
		if (m) {
			m->k++;
			if (m->hasbirth && ht) {
				unsigned long long dd = 0;
				if (t < m->birth) s->tot.clock_neg++;
				else dd = (unsigned long long)(t - m->birth);
				s->tot.ddelay_us += dd;
				if (hist_add(&s->ddelay, dd) < 0) r = -1;
			}
		}
		if (d && count(&s->rdomains, d->dom, d->domlen, RD_SUCCESS, 1) < 0) r = -1;
		if (d && m && count(&s->rdomains, d->dom, d->domlen, RD_SBYTES, m->bytes) < 0) r = -1;
		if (m && count(&s->senders, sk, skl, SD_RCPTS, 1) < 0) r = -1;
	} else {
		logstat_reason(&why, l->text, l->textlen);
		if (!why.s && buf_puts(&why, "") < 0) r = -1;
		if (kind == 1) {
			if (m) m->d++;
			if (count(&s->failreasons, why.s, why.len, R_COUNT, 1) < 0 ||
			    count(&s->failreasons, why.s, why.len, R_XDELAY, xd) < 0) r = -1;
			if (d && count(&s->rdomains, d->dom, d->domlen, RD_FAIL, 1) < 0) r = -1;
			if (m && count(&s->senders, sk, skl, SD_FAIL, 1) < 0) r = -1;
		} else {
			if (m) m->z++;
			if (count(&s->deferreasons, why.s, why.len, R_COUNT, 1) < 0 ||
			    count(&s->deferreasons, why.s, why.len, R_XDELAY, xd) < 0) r = -1;
			if (d && (count(&s->deferdomains, d->dom, d->domlen, 0, 1) < 0 ||
			          count(&s->rdomains, d->dom, d->domlen, RD_DEFER, 1) < 0)) r = -1;
		}
	}
	if (m && kind != 2 && ht) {
		m->lastdone = t;
		m->hasdone = 1;
	}
	free(d);
	return r;
}

static int endmsg(logstat *s, const struct logline *l, int ht, long long t)
{
	struct msg *m = idmap_del(&s->msgs, l->msg);
	if (!m || !m->hasnew || !m->hasinfo) {
		s->tot.ended_unseen++;
		msg_free(m);
		return 0;
	}
	s->tot.completed++;
	s->tot.comp_rcpts += m->k + m->d;
	s->tot.comp_tries += m->tries;
	s->tot.comp_bytes += m->bytes;
	s->tot.comp_sbytes += m->bytes * m->k;
	if (!m->hasbirth || !ht) {      /* no time stamps: nothing to measure */
		msg_free(m);
		return 0;
	}
	{
		long long done = m->hasdone ? m->lastdone : t;
		unsigned long long q = 0, qd = 0;
		size_t c;
		if (t >= m->birth) q = (unsigned long long)(t - m->birth); else s->tot.clock_neg++;
		if (done >= m->birth) qd = (unsigned long long)(done - m->birth); else s->tot.clock_neg++;
		s->tot.qtime_us += q;
		s->tot.qtime_n++;
		for (c = 0; c + 1 < DCLASS_N; c++)
			if (qd < (unsigned long long)logstat_dclass[c] * 1000000) break;
		s->dclass[c]++;
		msg_free(m);
		return hist_add(&s->qdelay, qd);
	}
}

int logstat_add(logstat *s, const struct logline *l)
{
	int ht = l->hast;
	long long t = l->t;
	struct msg *m;
	struct hourrow *h;

	s->tot.lines++;
	if (ht) {
		if (s->hast && t + 1000000 < s->last) {
			s->tot.clock_back++;
			if (s->last - t > s->tot.clock_back_max) s->tot.clock_back_max = s->last - t;
		}
		if (!s->hast) { s->first = t; s->maxt = t; }
		if (t < s->first) s->first = t;
		if (t > s->maxt) s->maxt = t;
		s->last = t;
		s->hast = 1;
	} else if (s->hast) {
		s->tot.nostamp++;
		ht = 1;
		t = s->last;
	} else
		s->tot.nostamp++;

	switch (l->ev) {
	case LE_NEW:
		m = idmap_get(&s->msgs, l->msg);
		if (m && !m->tries) {
			/* preprocessed again after a crash: the same message */
			if (!m->hasbirth && ht) { m->birth = t; m->hasbirth = 1; }
			m->hasnew = 1;
			return 0;
		}
		if (m) {              /* its end was not logged: the number was reused */
			s->tot.reused_msg++;
			msg_free(idmap_del(&s->msgs, l->msg));
		}
		m = msg_get(s, l->msg, 1);
		if (!m) return -1;
		m->birth = t;
		m->hasbirth = ht;
		m->hasnew = 1;
		s->tot.newmsgs++;
		if (ht) {
			if (!(h = hourof(s, t))) return -1;
			h->msgs++;
		}
		return 0;
	case LE_INFO:
		if (!(m = msg_get(s, l->msg, 1))) return -1;
		if (m->hasinfo) return 0;
		{
			size_t n = l->textlen < SENDERMAX ? l->textlen : SENDERMAX, k;
			if (!(m->sender = malloc(n + 1))) return -1;
			for (k = 0; k < n; k++) {
				char c = l->text[k];
				m->sender[k] = (unsigned char)c < 32 || c == 127 ? '?' : c;
			}
			m->sender[n] = 0;
			m->senderlen = n;
		}
		m->hasinfo = 1;
		m->bytes = l->bytes;
		if (!m->senderlen) { m->kind = 1; s->tot.bouncemsgs++; }
		else if (m->senderlen == 4 && !memcmp(m->sender, "#@[]", 4)) { m->kind = 2; s->tot.dbouncemsgs++; }
		s->tot.infos++;
		s->tot.bytes_in += l->bytes;
		if (ht) {
			if (!(h = hourof(s, t))) return -1;
			h->bytes += l->bytes;
		}
		{
			size_t kl;
			const char *k = sendkey(m, &kl);
			if (count(&s->senders, k, kl, SD_MSGS, 1) < 0 || count(&s->senders, k, kl, SD_BYTES, l->bytes) < 0)
				return -1;
		}
		return 0;
	case LE_START: {
		struct del *d = idmap_del(&s->dels, l->del);
		if (d) { s->tot.lost_del++; free(d); }
		if (!(m = msg_get(s, l->msg, 0))) {
			s->tot.unknown_msg++;
			if (!(m = msg_get(s, l->msg, 1))) return -1;
		}
		m->tries++;
		if (!(d = malloc(sizeof *d))) return -1;
		d->msg = l->msg;
		d->start = t;
		d->hasstart = ht;
		d->chan = l->chan;
		domainof(l->text, l->textlen, d);
		if (idmap_put(&s->dels, l->del, d) < 0) { free(d); return -1; }
		return 0;
	}
	case LE_SUCCESS: case LE_FAILURE: case LE_DEFERRAL:
		return result(s, l, ht, t);
	case LE_BOUNCE:
		m = msg_get(s, l->msg, 0);
		s->tot.bounces++;
		if (!m || !m->hasinfo) s->tot.bounces_unknown++;
		else if (m->kind) s->tot.dbounces++;
		if (ht) {
			if (!(h = hourof(s, t))) return -1;
			h->bounces++;
		}
		return 0;
	case LE_TRIPLE:
		s->tot.tbounces++;
		return 0;
	case LE_END:
		return endmsg(s, l, ht, t);
	case LE_STATUS:
		s->cur_l = l->lused;
		s->cur_r = l->rused;
		if (l->lused > s->tot.lpeak) s->tot.lpeak = l->lused;
		if (l->rused > s->tot.rpeak) s->tot.rpeak = l->rused;
		s->tot.lmax = l->lmax;
		s->tot.rmax = l->rmax;
		if (ht) {
			size_t b = bucket(&s->ser, t);
			if (!(h = hourof(s, t))) return -1;
			if (l->lused > h->lpeak) h->lpeak = l->lused;
			if (l->rused > h->rpeak) h->rpeak = l->rused;
			if (l->lused > s->ser.v[S_LPEAK][b]) s->ser.v[S_LPEAK][b] = (unsigned)l->lused;
			if (l->rused > s->ser.v[S_RPEAK][b]) s->ser.v[S_RPEAK][b] = (unsigned)l->rused;
			s->ser.v[S_LLAST][b] = (unsigned)l->lused;
			s->ser.v[S_RLAST][b] = (unsigned)l->rused;
			s->ser.touched[b] = 1;
		}
		/* nothing runs: whatever we still hold was lost in a restart */
		if (!l->lused && !l->rused && s->dels.n) drop_dels(s);
		return 0;
	case LE_EXITING:
		s->tot.exits++;
		return 0;
	case LE_ALERT: case LE_WARNING: {
		static buf why, key;
		if (l->ev == LE_ALERT) s->tot.alerts++; else s->tot.warnings++;
		logstat_reason(&why, l->text, l->textlen);
		key.len = 0;
		if (buf_puts(&key, l->ev == LE_ALERT ? "alert: " : "warning: ") < 0 ||
		    buf_put(&key, why.s ? why.s : "", why.len) < 0)
			return -1;
		return count(&s->alerts, key.s, key.len, 0, 1);
	}
	default:
		s->tot.other++;
		return 0;
	}
}

size_t logstat_inqueue(const logstat *s, long long *oldest, size_t *nobirth)
{
	size_t i = 0, n = 0;
	unsigned long long k;
	void *v;
	*oldest = 0;
	*nobirth = 0;
	while (idmap_next(&s->msgs, &i, &k, &v)) {
		const struct msg *m = v;
		n++;
		if (!m->hasbirth) (*nobirth)++;
		else if (!*oldest || m->birth < *oldest) *oldest = m->birth;
	}
	return n;
}

void logstat_free(logstat *s)
{
	size_t i = 0;
	unsigned long long k;
	void *v;
	while (idmap_next(&s->msgs, &i, &k, &v)) msg_free(v);
	idmap_free(&s->msgs);
	i = 0;
	while (idmap_next(&s->dels, &i, &k, &v)) free(v);
	idmap_free(&s->dels);
	free(s->qdelay.count); free(s->qdelay.low);
	free(s->ddelay.count); free(s->ddelay.low);
	free(s->hours);
	tally_free(&s->failreasons);
	tally_free(&s->deferreasons);
	tally_free(&s->deferdomains);
	tally_free(&s->senders);
	tally_free(&s->rdomains);
	tally_free(&s->alerts);
	memset(s, 0, sizeof *s);
}
