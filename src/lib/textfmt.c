/* textfmt: see textfmt.h. Fixed-point output is done with integers so it
 * does not depend on the locale or on libm. */
#include "lib/textfmt.h"
#include "lib/str.h"

int buf_putfix(buf *b, double v, int dec)
{
	unsigned long long scale = 1, whole, frac, x;
	char d[24];
	int i;

	if (dec < 0) dec = 0;
	if (dec > 9) dec = 9;
	for (i = 0; i < dec; i++) scale *= 10;
	if (v != v) v = 0;                           /* NaN */
	if (v < 0) {
		v = -v;
		if ((unsigned long long)(v * (double)scale + 0.5) && buf_putc(b, '-') < 0) return -1;
	}
	if (v > 9e15) v = 9e15;
	x = (unsigned long long)(v * (double)scale + 0.5);
	whole = x / scale;
	frac = x % scale;
	if (buf_putnum(b, whole) < 0) return -1;
	if (!dec) return 0;
	for (i = dec - 1; i >= 0; i--) { d[i] = (char)('0' + frac % 10); frac /= 10; }
	if (buf_putc(b, '.') < 0 || buf_put(b, d, (size_t)dec) < 0) return -1;
	return 0;
}

int buf_putxml(buf *b, const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		const char *r = 0;
		switch (s[i]) {
		case '&': r = "&amp;"; break;
		case '<': r = "&lt;"; break;
		case '>': r = "&gt;"; break;
		case '"': r = "&quot;"; break;
		case '\'': r = "&#39;"; break;
		}
		if (r) { if (buf_puts(b, r) < 0) return -1; continue; }
		if ((unsigned char)s[i] < 32 || s[i] == 127) { if (buf_putc(b, '?') < 0) return -1; continue; }
		if (buf_putc(b, s[i]) < 0) return -1;
	}
	return 0;
}
