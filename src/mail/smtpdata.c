/* smtpdata: dot-stuffing and line-end normalisation (see smtpdata.h). */
#include "mail/smtpdata.h"

void smtpdata_init(smtpdata *d)
{
	d->start = 1;
	d->cr = 0;
	d->inheader = 1;
	d->hdr8 = d->body8 = d->hdrbad = d->u8need = 0;
	d->out = 0;
}

/* One header byte through the UTF-8 check (RFC 3629: no overlong
 * two-byte leads, nothing past U+10FFFF). Whether a message with 8-bit
 * header bytes needs SMTPUTF8 (RFC 6532) or is legacy 8-bit text. */
static void u8step(smtpdata *d, unsigned char c)
{
	if (d->u8need) {
		if ((c & 0xC0) == 0x80) { d->u8need--; return; }
		d->hdrbad = 1;
		d->u8need = 0;
	}
	if (c < 0x80) return;
	if (c >= 0xC2 && c <= 0xDF) d->u8need = 1;
	else if ((c & 0xF0) == 0xE0) d->u8need = 2;
	else if (c >= 0xF0 && c <= 0xF4) d->u8need = 3;
	else d->hdrbad = 1;
}

/* A line ends: CRLF out, and an empty line ends the header. */
static int eol(smtpdata *d, buf *out)
{
	if (d->u8need) { d->hdrbad = 1; d->u8need = 0; }
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
				if (d->inheader && (d->u8need || (unsigned char)p[j] >= 0x80)) u8step(d, (unsigned char)p[j]);
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
