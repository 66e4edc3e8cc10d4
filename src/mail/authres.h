/* authres: the one Authentication-Results header field (RFC 8601) that
 * qmail-smtpd puts at the top of every message it receives (right under
 * its Received line), and the filter that removes the ones a client sent
 * in our name.
 *
 * The header collects the results of every check made on the message:
 * SPF, then DKIM (one result per signature) and DMARC, each added with
 * authres_add() or authres_addp() in the
 * order the checks ran. With no result it says "none":
 *     Authentication-Results: mail.example.com; none
 *     Authentication-Results: mail.example.com;
 *             spf=pass smtp.mailfrom=joe@example.org
 * Our authserv-id is control/authservid, else control/me.
 *
 * A receiver believes an Authentication-Results field because its
 * authserv-id names a host it trusts; so a field arriving with the
 * message that already carries our authserv-id is a forgery (or an old
 * result of ours that no longer applies) and is removed (RFC 8601 5).
 * The filter works on the message as stored (LF line ends), on the
 * header only, in chunks of any size, and holds at most AUTHRES_HOLD_MAX
 * bytes of a field while it decides: a field that hides its authserv-id
 * behind more comments than that is removed too. */
#ifndef NQ_AUTHRES_H
#define NQ_AUTHRES_H
#include <stddef.h>
#include "lib/buf.h"

#define AUTHRES_HOLD_MAX 1024

struct authres {
	buf res;            /* "; method=result ..." for each result */
};

#define AUTHRES_INIT {BUF_INIT}

/* Add one result: method ("spf"), result ("pass"), an optional comment
 * (0 for none; parentheses and backslashes in it are escaped) and one
 * optional property ptype.property ("smtp.mailfrom") with its value (an
 * address or domain; an address whose local part is not a dot-atom is
 * given as @domain, as RFC 8601 allows). 0 ok, -1 out of memory. */
int authres_add(struct authres *a, const char *method, const char *result,
                const char *comment, const char *prop, const char *value);
/* The same with any number of properties: props holds ptype.property
 * and value pairs, ended by a null pointer (props itself may be 0):
 *     dkim=pass header.d=example.org header.s=sel header.b=Ab12Cd34 */
int authres_addp(struct authres *a, const char *method, const char *result,
                 const char *comment, const char *const *props);
/* Forget every result. */
void authres_clear(struct authres *a);
void authres_free(struct authres *a);
/* The whole field, LF-terminated, appended to out. -1 out of memory. */
int authres_header(buf *out, const char *authservid, const struct authres *a);

/* Is the Authentication-Results field s[0..n) (name and all, line ends
 * included) one of id's? 1 yes, 0 no, -1 cannot tell yet: the
 * authserv-id is not complete in these bytes (when complete is 0, more of
 * the field may follow; when 1, the field is whole). */
int authres_ours(const char *s, size_t n, const char *id, int complete);

/* The header filter. */
struct authres_filter {
	const char *id;     /* our authserv-id */
	int done;           /* past the header */
	int bol;            /* at the start of a line */
	int mode;           /* what happens to the current field */
	size_t name;        /* bytes of the field name matched so far */
	buf hold;           /* the start of a field being decided */
};

void authres_filter_init(struct authres_filter *f, const char *id);
/* Copy p[0..n) to out, less the fields that are ours. -1 out of memory. */
int authres_filter_feed(struct authres_filter *f, const char *p, size_t n, buf *out);
/* The message ended: decide on what is held. -1 out of memory. */
int authres_filter_end(struct authres_filter *f, buf *out);
void authres_filter_free(struct authres_filter *f);

#endif
