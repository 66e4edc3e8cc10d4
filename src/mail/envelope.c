/* envelope: the streaming envelope check used by qmail-queue and the
 * parser of stored envelopes used by the queue readers. */
#include "mail/envelope.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

enum { S_SENDERTYPE, S_SENDER, S_TYPE, S_RCPT, S_DONE, S_EFORMAT, S_ETOOLONG };

void envscan_init(envscan *e)
{
	e->state = S_SENDERTYPE;
	e->len = 0;
	e->rcpts = 0;
}

static int result(const envscan *e)
{
	switch (e->state) {
	case S_DONE: return ENV_DONE;
	case S_EFORMAT: return ENV_EFORMAT;
	case S_ETOOLONG: return ENV_ETOOLONG;
	default: return ENV_MORE;
	}
}

int envscan_feed(envscan *e, const char *p, size_t n, size_t *used)
{
	size_t i = 0;

	*used = 0;
	while (i < n && result(e) == ENV_MORE) {
		switch (e->state) {
		case S_SENDERTYPE:
			e->state = p[i++] == 'F' ? S_SENDER : S_EFORMAT;
			e->len = 0;
			break;
		case S_TYPE:
			if (p[i] == 'T') e->state = S_RCPT;
			else if (p[i] == 0) e->state = e->rcpts ? S_DONE : S_EFORMAT;
			else e->state = S_EFORMAT;
			i++;
			e->len = 0;
			break;
		case S_SENDER:
		case S_RCPT: {
			/* Look for the NUL only as far as the address may still
			 * reach, so an endless address is refused as soon as it
			 * passes the limit. */
			size_t room = ENVELOPE_ADDR_MAX - e->len + 1;
			size_t k = n - i < room ? n - i : room;
			size_t z = byte_chr(p + i, k, 0);
			if (z < k) {
				i += z + 1;
				if (e->state == S_RCPT) e->rcpts++;
				e->state = S_TYPE;
			} else if (k == room) {
				i += k;
				e->state = S_ETOOLONG;
			} else {
				i += k;
				e->len += k;
			}
			break;
		}
		}
	}
	*used = i;
	return result(e);
}

int envscan_eof(const envscan *e)
{
	int r = result(e);
	return r == ENV_MORE ? ENV_ETRUNC : r;
}

int env_next(const char *p, size_t n, size_t *pos, envrec *r)
{
	size_t i = *pos, z;

	if (i >= n) return 0;
	z = byte_chr(p + i, n - i, 0);
	if (z == n - i) return -1;          /* no NUL: truncated record */
	if (z == 0) { *pos = i + 1; return 0; }
	r->type = p[i];
	r->s = p + i + 1;
	r->len = z - 1;
	*pos = i + z + 1;
	return 1;
}

static int num(const envrec *r, unsigned long *u)
{
	return r->len > 0 && scan_ulong(r->s, r->len, u) == r->len ? 0 : -1;
}

int envelope_parse(envelope *e, const char *p, size_t n)
{
	size_t pos = 0, before;
	envrec r;
	int k;

	memset(e, 0, sizeof *e);
	for (;;) {
		k = env_next(p, n, &pos, &r);
		if (k <= 0) goto bad;
		if (r.type == 'u' && !e->has_uid && !e->has_pid) {
			if (num(&r, &e->uid) < 0) goto bad;
			e->has_uid = 1;
		} else if (r.type == 'p' && !e->has_pid) {
			if (num(&r, &e->pid) < 0) goto bad;
			e->has_pid = 1;
		} else if (r.type == 'F') {
			break;
		} else goto bad;
	}
	if (r.len > ENVELOPE_ADDR_MAX) goto toolong;
	e->sender = r.s;
	e->senderlen = r.len;
	e->rcpts = p + pos;
	for (;;) {
		before = pos;
		k = env_next(p, n, &pos, &r);
		if (k < 0) goto bad;
		if (k == 0) {
			/* The final NUL (or qmail's end of file) must close it. */
			if (pos != n) goto bad;
			e->rcptslen = before - (size_t)(e->rcpts - p);
			break;
		}
		if (r.type != 'T') goto bad;
		if (r.len > ENVELOPE_ADDR_MAX) goto toolong;
		e->nrcpts++;
	}
	if (!e->nrcpts) goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
toolong:
	errno = ERANGE;
	return -1;
}
