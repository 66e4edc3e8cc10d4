/* addr: address lists in header fields, and their completion, as
 * qmail-inject does it (qmail-header(5), qmail-inject(8)).
 *
 * An address list ("a@b, c@d (Somebody), A Person <e@f>, group: g@h;")
 * is cut into tokens: atoms, quoted strings, domain literals, comments and
 * the specials , @ . : ; < >. It is then read item by item: groups (text,
 * colon, members, semicolon), angle addresses with an optional phrase in
 * front (a source route inside the brackets is dropped), and bare
 * addresses, where an illegal space between two words separates two
 * addresses ("djb fred" is "djb, fred").
 *
 * Every address is completed:
 *   - an address without a host gets "@" defaulthost;
 *   - a host ending in "+" loses the "+" and gets "." plusdomain;
 *   - a host without a dot (and not a [literal]) gets "." defaultdomain;
 * (defaulthost is itself subject to the last two rules), a trailing dot
 * or "@" is dropped, and <> and addresses ending in "@[]" are left alone.
 *
 * The list is then written back in a canonical form (phrases and comments
 * kept as they were, addresses without inner spaces, items separated by
 * ", " and folded before column 78), and every address is also given in
 * envelope form: quotes and backslashes removed, NUL-terminated.
 *
 * Nothing here holds memory beyond what the input needs; every size is
 * bounded by the input's length and the buffers' limits. */
#ifndef NQ_ADDR_H
#define NQ_ADDR_H
#include <stddef.h>
#include "lib/buf.h"

enum addr_type {
	A_ATOM, A_QUOTE, A_LITERAL, A_COMMENT,   /* s,n: text without delimiters */
	A_COMMA, A_AT, A_DOT, A_COLON, A_SEMI, A_LEFT, A_RIGHT
};

typedef struct addr_tok {
	unsigned char type;     /* enum addr_type */
	unsigned char sp;       /* white space came before it */
	const char *s;          /* into the tokenized text: it must outlive the token */
	size_t n;
} addr_tok;

typedef struct addr_toks {
	addr_tok *t;
	size_t len, cap;
} addr_toks;

/* Cut s[0..n) into tokens (appended to v). 1 ok, 0 syntax error
 * (unterminated quote, comment or literal, a stray ')' or ']', a NUL
 * byte), -1 out of memory. */
int addr_tokenize(addr_toks *v, const char *s, size_t n);
void addr_toks_free(addr_toks *v);

/* The completion settings. The strings are copied. */
typedef struct addr_cfg {
	buf host, domain, plus;
	addr_toks thost, tdomain, tplus;
} addr_cfg;

/* 1 ok, 0 one of the names does not parse as a host name, -1 no memory. */
int addr_cfg_init(addr_cfg *c, const char *defaulthost, const char *defaultdomain,
                  const char *plusdomain);
void addr_cfg_free(addr_cfg *c);

/* Complete the address tokens in v (one address, no comments) in place.
 * -1 no memory, else 0. */
int addr_complete(const addr_cfg *c, addr_toks *v);

/* Rewrite the address list s[0..n) (a field's contents, unfolded or not).
 * Appends to out the rewritten list; col is the column where it starts
 * (the length of "Name: "), for folding. Appends to addrs every address in
 * envelope form followed by NUL (an empty address, from <>, as a lone NUL).
 * 1 ok, 0 syntax error (out and addrs then hold partial results), -1 out
 * of memory or a buffer's limit reached (errno ENOMEM or ERANGE). */
int addr_list(const addr_cfg *c, const char *s, size_t n, size_t col, buf *out, buf *addrs);

/* An address as given on a command line: local@host, where the local part
 * is taken as it is (it may hold spaces or quotes) and the part after the
 * last '@' is the host. "<addr>" stands for addr. Completes it and puts
 * its envelope form in out (not NUL-terminated beyond buf's own NUL).
 * 1 ok, 0 it does not parse, -1 no memory. */
int addr_arg(const addr_cfg *c, const char *s, size_t n, buf *out);

/* Append s[0..n) to b as the local part of an address: unchanged when it
 * is a dot-atom, else as a quoted string. */
int addr_put_local(buf *b, const char *s, size_t n);
/* Append s[0..n) as a quoted string (always quoted). Line breaks and other
 * control characters become spaces, so that the result stays on one line. */
int addr_put_quoted(buf *b, const char *s, size_t n);
/* Append s[0..n) as a comment "(...)", control characters as spaces. */
int addr_put_comment(buf *b, const char *s, size_t n);

#endif
