/* base64: RFC 4648 section 4 (see base64.h). */
#include "lib/base64.h"
#include <errno.h>

static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_encode(buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;
	char q[4];

	for (i = 0; i + 3 <= n; i += 3) {
		unsigned long v = (unsigned long)u[i] << 16 | (unsigned long)u[i + 1] << 8 | u[i + 2];
		q[0] = alpha[v >> 18 & 63];
		q[1] = alpha[v >> 12 & 63];
		q[2] = alpha[v >> 6 & 63];
		q[3] = alpha[v & 63];
		if (buf_put(out, q, 4) < 0) return -1;
	}
	if (n - i == 1) {
		unsigned long v = (unsigned long)u[i] << 16;
		q[0] = alpha[v >> 18 & 63];
		q[1] = alpha[v >> 12 & 63];
		q[2] = q[3] = '=';
		if (buf_put(out, q, 4) < 0) return -1;
	} else if (n - i == 2) {
		unsigned long v = (unsigned long)u[i] << 16 | (unsigned long)u[i + 1] << 8;
		q[0] = alpha[v >> 18 & 63];
		q[1] = alpha[v >> 12 & 63];
		q[2] = alpha[v >> 6 & 63];
		q[3] = '=';
		if (buf_put(out, q, 4) < 0) return -1;
	}
	return 0;
}

static int val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int b64_decode(buf *out, const char *s, size_t n)
{
	size_t i;

	if (n % 4) { errno = EINVAL; return -1; }
	for (i = 0; i < n; i += 4) {
		int a = val(s[i]), b = val(s[i + 1]), c = val(s[i + 2]), d = val(s[i + 3]);
		int last = i + 4 == n;
		char o[3];
		unsigned long v;

		if (a < 0 || b < 0) { errno = EINVAL; return -1; }
		if (c < 0 || d < 0) {
			/* Padding: only at the very end, "x=" after three or "==". */
			if (!last || s[i + 3] != '=' || (c < 0 && s[i + 2] != '=')) { errno = EINVAL; return -1; }
			if (c < 0) {
				if (b & 15) { errno = EINVAL; return -1; }
				o[0] = (char)(a << 2 | b >> 4);
				return buf_put(out, o, 1);
			}
			if (c & 3) { errno = EINVAL; return -1; }
			o[0] = (char)(a << 2 | b >> 4);
			o[1] = (char)((b & 15) << 4 | c >> 2);
			return buf_put(out, o, 2);
		}
		v = (unsigned long)a << 18 | (unsigned long)b << 12 | (unsigned long)c << 6 | (unsigned long)d;
		o[0] = (char)(v >> 16);
		o[1] = (char)(v >> 8);
		o[2] = (char)v;
		if (buf_put(out, o, 3) < 0) return -1;
	}
	return 0;
}
