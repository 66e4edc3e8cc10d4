/* fuzz-smtpreply: the SMTP reply reader (src/mail/smtpreply.c) and the
 * EHLO extension parser on arbitrary server output, as a hostile server
 * could send it, split into lines. Besides not crashing: the kept text
 * never exceeds its limit, a complete reply's code is 200..599, and the
 * outbound message encoder (src/mail/smtpdata.c) fed the same bytes emits
 * only CRLF lines with exactly one CRLF.CRLF, at the end. The same bytes
 * are read as qmail-remote reports (src/mail/remoterep.c) and as a
 * bounce's report text (src/mail/remotediag.c). */
#include "mail/smtpdata.h"
#include "mail/smtpreply.h"
#include "mail/remotediag.h"
#include "mail/remoterep.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	smtpreply r = SMTPREPLY_INIT;
	smtpext e;
	smtpdata d;
	buf out = BUF_INIT, text = BUF_INIT;
	const char *p = (const char *)data;
	size_t i = 0, k;
	char st;

	while (i < size) {
		const char *nl = memchr(p + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (p + i)) + 1 : size - i;
		int x = smtpreply_line(&r, p + i, n);
		if (r.text.len > SMTPREPLY_TEXT_MAX) abort();
		if (x == 1) {
			if (r.code < 200 || r.code > 599) abort();
			smtpreply_ehlo(&r, &e);
			smtpreply_reset(&r);
		} else if (x < 0) smtpreply_reset(&r);
		i += n;
	}
	smtpreply_free(&r);

	/* the encoder: one message, CRLF lines only */
	smtpdata_init(&d);
	if (smtpdata_put(&d, p, size, &out) < 0 || smtpdata_end(&d, &out) < 0) abort();
	if (out.len < 3 || memcmp(out.s + out.len - 3, ".\r\n", 3)) abort();
	if (d.out != out.len) abort();
	for (k = 0; k < out.len; k++) {
		if (out.s[k] == '\r' && (k + 1 == out.len || out.s[k + 1] != '\n')) abort();
		if (out.s[k] == '\n' && (k == 0 || out.s[k - 1] != '\r')) abort();
		/* a line that is a lone dot: only the terminator */
		if (out.s[k] == '.' && (k == 0 || out.s[k - 1] == '\n') && k + 2 < out.len &&
		    out.s[k + 1] == '\r' && k + 3 != out.len) abort();
	}
	buf_free(&out);

	/* qmail-remote output read as reports for recipient 0..3 */
	for (k = 0; k < 4; k++) {
		if (remoterep_for(p, size, k, 0, &st, &text) < 0) abort();
		if (st != 'K' && st != 'Z' && st != 'D') abort();
		if (text.len > REMOTEREP_TEXT_MAX || (text.len && memchr(text.s, 0, text.len))) abort();
	}
	buf_free(&text);
	{
		remotediag rd = REMOTEDIAG_INIT;
		if (remotediag_parse(p, size, &rd) == 1 && (strlen(rd.status) > 11 || rd.smtp.len < 3)) abort();
		remotediag_free(&rd);
	}
	return 0;
}
