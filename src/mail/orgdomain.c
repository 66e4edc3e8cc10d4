/* orgdomain: public suffixes and Organizational Domains (see orgdomain.h).
 *
 * For a name of n labels, only rules ending in one of its n suffixes can
 * match; each line of the list is compared against those, with a "*"
 * label matching anything, so the cost is one pass over the list per
 * lookup (about 12000 short lines) and no memory beyond the file. */
#include "mail/orgdomain.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

#define LABELS_MAX 127

static const char *listpath;
static buf list;
static int loaded;

void orgdomain_list(const char *path)
{
	listpath = path;
	loaded = 0;
	list.len = 0;
}

static void load(void)
{
	if (loaded) return;
	loaded = 1;
	if (read_file(listpath ? listpath : ORGDOMAIN_PSL, &list, ORGDOMAIN_PSL_MAX) < 0) list.len = 0;
}

/* Does rule r[0..rn) (no "!") match the rightmost labels of name, whose
 * label starts are at[0..n)? Returns the number of labels of the rule
 * when it does, else 0. */
static size_t match(const char *r, size_t rn, const char *name, size_t len, const size_t *at, size_t n)
{
	size_t labels = 1, i, k;
	const char *p;

	for (i = 0; i < rn; i++) if (r[i] == '.') labels++;
	if (labels > n) return 0;
	/* compare label by label from the right */
	p = r + rn;
	for (k = 0; k < labels; k++) {
		size_t li = n - 1 - k;
		size_t ls = at[li], le = li + 1 < n ? at[li + 1] - 1 : len;
		const char *q = p;
		while (q > r && q[-1] != '.') q--;
		if (!((size_t)(p - q) == 1 && q[0] == '*')) {
			if ((size_t)(p - q) != le - ls || !case_eqn(q, name + ls, le - ls)) return 0;
		}
		p = q > r ? q - 1 : q;
	}
	return labels;
}

int orgdomain(const char *name, buf *out)
{
	size_t len = strlen(name), at[LABELS_MAX], n = 0, i, best = 1, exc = 0;
	const char *l, *end;

	if (len && name[len - 1] == '.') len--;
	if (!len || len > 253 || name[0] == '.') { errno = EINVAL; return -1; }
	at[n++] = 0;
	for (i = 0; i < len; i++) {
		if (name[i] != '.') continue;
		if (i + 1 >= len || name[i + 1] == '.' || n == LABELS_MAX) { errno = EINVAL; return -1; }
		at[n++] = i + 1;
	}
	load();
	for (l = list.s, end = list.s + list.len; l && l < end; ) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t ll = nl ? (size_t)(nl - l) : (size_t)(end - l), rn = 0, k;
		while (rn < ll && l[rn] != ' ' && l[rn] != '\t' && l[rn] != '\r') rn++;
		if (rn && !(rn >= 2 && l[0] == '/' && l[1] == '/')) {
			if (l[0] == '!') {
				k = match(l + 1, rn - 1, name, len, at, n);
				if (k && k > exc) exc = k;
			} else {
				k = match(l, rn, name, len, at, n);
				if (k > best) best = k;
			}
		}
		l = nl ? nl + 1 : end;
	}
	/* an exception rule's public suffix is the rule less its first label */
	if (exc) best = exc - 1;
	/* the Organizational Domain: one label more than the suffix */
	i = best < n ? n - best - 1 : 0;
	if (buf_copy(out, name + at[i], len - at[i]) < 0) return -1;
	case_lower(out->s, out->len);
	return 0;
}

static int same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la && a[la - 1] == '.') la--;
	if (lb && b[lb - 1] == '.') lb--;
	return la == lb && case_eqn(a, b, la);
}

int orgdomain_aligned(const char *a, const char *b, int strict)
{
	buf oa = BUF_INIT, ob = BUF_INIT;
	int r;

	if (same(a, b)) return 1;
	if (strict) return 0;
	if (orgdomain(a, &oa) < 0 || orgdomain(b, &ob) < 0) {
		r = errno == ENOMEM ? -1 : 0;
		buf_free(&oa);
		buf_free(&ob);
		return r;
	}
	r = oa.len == ob.len && memcmp(oa.s, ob.s, oa.len) == 0;
	buf_free(&oa);
	buf_free(&ob);
	return r;
}
