/* Unit tests for src/lib/base64.c: RFC 4648's test vectors both ways,
 * and strict refusal of what is not base64. */
#include "tap.h"
#include "lib/base64.h"
#include <string.h>

static buf b = BUF_INIT;

static int enc(const char *in, const char *want)
{
	b.len = 0;
	return b64_encode(&b, in, strlen(in)) == 0 && b.len == strlen(want) && (!b.len || !memcmp(b.s, want, b.len));
}

static int dec(const char *in, const char *want)
{
	b.len = 0;
	if (!want) return b64_decode(&b, in, strlen(in)) < 0;
	return b64_decode(&b, in, strlen(in)) == 0 && b.len == strlen(want) && (!b.len || !memcmp(b.s, want, b.len));
}

int main(void)
{
	static const char *v[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
	                             {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
	size_t i;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		ok(enc(v[i][0], v[i][1]), "encode RFC 4648 vector");
		ok(dec(v[i][1], v[i][0]), "decode RFC 4648 vector");
	}
	b.len = 0;
	ok(b64_decode(&b, "AGpvZQBwdw==", 12) == 0 && b.len == 7 && !memcmp(b.s, "\0joe\0pw", 7), "NULs decoded (PLAIN)");
	ok(dec("Zm9", 0), "length not a multiple of 4");
	ok(dec("Zm=v", 0), "padding in the middle");
	ok(dec("Zg==Zg==", 0), "padding before the end");
	ok(dec("Zm9v\r\n", 0), "line breaks");
	ok(dec("Zh==", 0), "non-zero bits under the padding");
	ok(dec("Z!==", 0), "a character outside the alphabet");
	buf_free(&b);
	return done_testing();
}
