/* smtpdata: dot-stuffing and line-end normalisation (see smtpdata.h). */
#include "mail/smtpdata.h"

void smtpdata_init(smtpdata *d)
{
	d->start = 1;
	d->cr = 0;
	d->inheader = 1;
	d->hdr8 = d->body8 = 0;
	d->out = 0;
}

/* A line ends: CRLF out, and an empty line ends the header. */
static int eol(smtpdata *d, buf *out)
{
	if (d->start) d->inheader = 0;
	d->start = 1;
	d->out += 2;
	return buf_put(out, "\r\n", 2);
}

int smtpdata_put(smtpdata *d, const char *p, size_t n, buf *out)
{
	size_t i = 0;

	if (buf_ready(out, n + n / 8 + 16) < 0) return -1;
	while (i < n) {
		char c = p[i];
		if (d->cr) {
			d->cr = 0;
			if (eol(d, out) < 0) return -1;
			if (c == '\n') { i++; continue; }
		}
		if (c == '\r') { d->cr = 1; i++; continue; }
		if (c == '\n') { if (eol(d, out) < 0) return -1; i++; continue; }
		if (d->start && c == '.') {
			if (buf_putc(out, '.') < 0) return -1;
			d->out++;
		}
		d->start = 0;
		/* copy the rest of the line's plain bytes at once */
		{
			size_t j = i;
			while (j < n && p[j] != '\r' && p[j] != '\n') {
				if ((unsigned char)p[j] >= 0x80) {
					d->body8 = 1;
					if (d->inheader) d->hdr8 = 1;
				}
				j++;
			}
			if (buf_put(out, p + i, j - i) < 0) return -1;
			d->out += j - i;
			i = j;
		}
	}
	return 0;
}

int smtpdata_end(smtpdata *d, buf *out)
{
	if (d->cr) { d->cr = 0; if (eol(d, out) < 0) return -1; }
	if (!d->start && eol(d, out) < 0) return -1;
	d->out += 3;
	return buf_put(out, ".\r\n", 3);
}
