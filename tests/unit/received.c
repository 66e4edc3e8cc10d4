/* Unit tests for src/mail/received.c: the Received field's layout, the
 * protocol names of RFC 3848, IPv6, TLS, and the cleaning of what the
 * client chose. */
#include "tap.h"
#include "mail/received.h"
#include <string.h>

int main(void)
{
	struct received r;
	buf b = BUF_INIT;

	memset(&r, 0, sizeof r);
	r.helo = "client.test";
	r.remoteip = "192.0.2.1";
	r.me = "mx.test";
	r.proto = "ESMTP";
	r.when = 0;
	ok(received_line(&b, &r) == 0 && !strcmp(b.s,
	   "Received: from unknown (HELO client.test) ([192.0.2.1])\n  by mx.test (nqmail) with ESMTP; "
	   "1 Jan 1970 00:00:00 -0000\n"), "plain layout");
	b.len = 0;
	r.remotehost = "CLIENT.test";
	r.remoteinfo = "joe";
	r.remoteip = "2001:db8::1";
	r.tlsversion = "TLSv1.3";
	r.tlscipher = "TLS_AES_256_GCM_SHA384";
	r.tlsbits = 256;
	r.proto = received_proto(1, 1, 1);
	ok(received_line(&b, &r) == 0 && strstr(b.s, "from CLIENT.test (joe@[IPv6:2001:db8::1])") &&
	   strstr(b.s, "with ESMTPSA (TLSv1.3 TLS_AES_256_GCM_SHA384 256 bits);"),
	   "remote host equal to HELO, info, IPv6, TLS");
	b.len = 0;
	r.helo = "a)b\n(c\\d\xc3\xa9";
	r.remotehost = 0;
	ok(received_line(&b, &r) == 0 && strstr(b.s, "(HELO a?b\?\?c?d\?\?)") && strchr(b.s, '\n') == strstr(b.s, "\n  by"),
	   "HELO cleaned: no ), (, \\, newline or 8-bit");
	ok(!strcmp(received_proto(0, 0, 0), "SMTP") && !strcmp(received_proto(1, 0, 0), "ESMTP") &&
	   !strcmp(received_proto(1, 1, 0), "ESMTPS") && !strcmp(received_proto(1, 0, 1), "ESMTPA"), "protocol names");
	{
		char big[1000];
		memset(big, 'h', sizeof big - 1);
		big[sizeof big - 1] = 0;
		b.len = 0;
		r.helo = big;
		ok(received_line(&b, &r) == 0 && b.len < 600, "a long HELO is shortened");
	}
	buf_free(&b);
	return done_testing();
}
