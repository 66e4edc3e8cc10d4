/* milter: the MTA side of the Sendmail mail filter protocol ("milter",
 * version 6 as libmilter, rspamd, OpenDKIM, ClamAV and SpamAssassin's
 * milters speak it), for qmail-smtpd.
 *
 * Configuration: control/milters, one milter per line, consulted in
 * that order (doc/qmail-control.5):
 *     inet:127.0.0.1:11332 onfail=accept timeout=10
 *     unix:/run/opendkim/opendkim.sock
 * The socket is inet:HOST:PORT, inet:PORT@HOST, inet6:[ADDR]:PORT,
 * inet6:PORT@ADDR (HOST an IP address or "localhost": qmail-smtpd never
 * resolves a name to find a filter) or unix:/PATH (local:/PATH alike).
 * onfail= says what a milter that is down, too slow or breaks the
 * protocol means for the mail: tempfail (the default: the mail is
 * refused with 451 until the milter works again) or accept (the milter
 * is left out). timeout= bounds every read and write and the connect,
 * in seconds (default 30).
 *
 * One SMTP session is one milter connection: milter_open() connects,
 * negotiates (SMFIC_OPTNEG) and sends CONNECT; then HELO, MAIL, RCPT
 * as the client sends them; milter_eom() sends DATA, the header fields,
 * EOH, the body (CR LF line ends, chunks of at most 65535 bytes) and
 * BODYEOB, collects the changes the milter asks for and applies them to
 * the header, the sender and the recipients; milter_abort() ends a
 * transaction that did not reach the end of the message; milter_close()
 * says QUIT. Macros (SMFIC_MACRO) go before each stage; the caller
 * builds them with milter_macro().
 *
 * Verdicts: CONTINUE, ACCEPT (this milter is done: for the connection
 * when said at CONNECT or HELO, for the message otherwise), REJECT,
 * TEMPFAIL, DISCARD (the message is accepted and dropped), REPLYCODE
 * (REJECT or TEMPFAIL with the milter's own text: only a 4xx or 5xx
 * code is taken, and text with control characters in it is replaced by
 * ours, so a milter cannot inject lines into the SMTP dialogue). The
 * first milter that refuses ends the stage; later ones are not asked.
 *
 * Changes at the end of the message: ADDHEADER, INSHEADER, CHGHEADER
 * (an empty value deletes), ADDRCPT, ADDRCPT_PAR (the ESMTP arguments
 * are ignored), DELRCPT, CHGFROM and QUARANTINE (noted for the caller,
 * who adds a header) and REPLBODY (the body is replaced: its packets,
 * CR LF made LF, go to the caller's spool, at most MILTER_BODY_MAX
 * bytes; when two milters replace it, the later one wins). A change the
 * milter did not negotiate breaks the protocol.
 *
 * Limits: a packet longer than MILTER_PKT_MAX is a protocol error, never
 * an allocation; every read and write has the milter's timeout; at most
 * MILTER_PROGRESS_MAX "progress" packets extend one wait. */
#ifndef NQ_MILTER_H
#define NQ_MILTER_H
#include <stddef.h>
#include <sys/types.h>
#include "lib/buf.h"
#include "lib/ipaddr.h"
#include "mail/spool.h"

#define MILTER_MAX 16               /* milters in control/milters */
#define MILTER_PKT_MAX (256 * 1024) /* bytes in one packet from a milter */
#define MILTER_CHUNK 65535          /* bytes of body in one BODY packet */
#define MILTER_PROGRESS_MAX 1000
#define MILTER_TIMEOUT 30
#define MILTER_EDITS_MAX 1000       /* changes one milter may ask for per message */
#define MILTER_HDR_GROWTH (1024 * 1024)   /* bytes the changes may add to a header */
#define MILTER_BODY_MAX (64ULL * 1024 * 1024)   /* bytes of a replacement body */

/* Commands (MTA to milter) and replies (milter to MTA). */
#define SMFIC_ABORT   'A'
#define SMFIC_BODY    'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO   'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO    'H'
#define SMFIC_HEADER  'L'
#define SMFIC_MAIL    'M'
#define SMFIC_EOH     'N'
#define SMFIC_OPTNEG  'O'
#define SMFIC_QUIT    'Q'
#define SMFIC_RCPT    'R'
#define SMFIC_DATA    'T'

#define SMFIR_ADDRCPT     '+'
#define SMFIR_DELRCPT     '-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN    '4'
#define SMFIR_ACCEPT      'a'
#define SMFIR_REPLBODY    'b'
#define SMFIR_CONTINUE    'c'
#define SMFIR_DISCARD     'd'
#define SMFIR_CHGFROM     'e'
#define SMFIR_CONN_FAIL   'f'
#define SMFIR_ADDHEADER   'h'
#define SMFIR_INSHEADER   'i'
#define SMFIR_SETSYMLIST  'l'
#define SMFIR_CHGHEADER   'm'
#define SMFIR_PROGRESS    'p'
#define SMFIR_QUARANTINE  'q'
#define SMFIR_REJECT      'r'
#define SMFIR_SKIP        's'
#define SMFIR_TEMPFAIL    't'
#define SMFIR_REPLYCODE   'y'
#define SMFIR_OPTNEG      'O'

/* Actions (SMFIF_*) and protocol steps (SMFIP_*) of the negotiation. */
#define SMFIF_ADDHDRS     0x001
#define SMFIF_CHGBODY     0x002
#define SMFIF_ADDRCPT     0x004
#define SMFIF_DELRCPT     0x008
#define SMFIF_CHGHDRS     0x010
#define SMFIF_QUARANTINE  0x020
#define SMFIF_CHGFROM     0x040
#define SMFIF_ADDRCPT_PAR 0x080
#define SMFIF_SETSYMLIST  0x100

#define SMFIP_NOCONNECT   0x000001
#define SMFIP_NOHELO      0x000002
#define SMFIP_NOMAIL      0x000004
#define SMFIP_NORCPT      0x000008
#define SMFIP_NOBODY      0x000010
#define SMFIP_NOHDRS      0x000020
#define SMFIP_NOEOH       0x000040
#define SMFIP_NR_HDR      0x000080
#define SMFIP_NOUNKNOWN   0x000100
#define SMFIP_NODATA      0x000200
#define SMFIP_SKIP        0x000400
#define SMFIP_RCPT_REJ    0x000800
#define SMFIP_NR_CONN     0x001000
#define SMFIP_NR_HELO     0x002000
#define SMFIP_NR_MAIL     0x004000
#define SMFIP_NR_RCPT     0x008000
#define SMFIP_NR_DATA     0x010000
#define SMFIP_NR_UNKN     0x020000
#define SMFIP_NR_EOH      0x040000
#define SMFIP_NR_BODY     0x080000
#define SMFIP_HDR_LEADSPC 0x100000

/* What we offer: every action; every step but RCPT_REJ (we never send
 * refused recipients). */
#define MILTER_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_CHGHDRS | \
	SMFIF_QUARANTINE | SMFIF_CHGFROM | SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST)
#define MILTER_STEPS (0x1FFFFFUL & ~(unsigned long)SMFIP_RCPT_REJ)

enum milter_onfail { MILTER_ONFAIL_TEMPFAIL, MILTER_ONFAIL_ACCEPT };

typedef struct milter {
	/* from control/milters */
	buf name;                 /* the socket as written, for the log */
	int isunix;
	buf path;                 /* unix: the socket's path */
	ipaddr ip;                /* inet: address and port */
	unsigned port;
	int onfail;               /* MILTER_ONFAIL_* */
	int timeout;              /* seconds per connect, read, write */
	/* the session */
	int fd;                   /* -1: not connected */
	int state;                /* MS_* in milter.c */
	int msg;                  /* MAIL was sent, the message not finished */
	int msgdone;              /* accepted for this message */
	unsigned long version, actions, steps;   /* negotiated */
	buf pkt;                  /* the last packet read: command byte, data */
} milter;

/* The caller's log: one line per verdict or failure worth noting. */
typedef void milter_logfn(const char *line);

typedef struct milters {
	milter m[MILTER_MAX];
	size_t n;
	milter_logfn *log;        /* 0: no log */
	buf line;                 /* scratch for log lines */
	buf out;                  /* scratch for packets */
} milters;

/* Results of a stage. */
enum milter_verdict {
	MILTER_CONTINUE = 0,      /* go on (also: every milter accepted) */
	MILTER_REJECT,            /* refuse with reply (5xx) */
	MILTER_TEMPFAIL,          /* refuse with reply (4xx) */
	MILTER_DISCARD            /* say yes, deliver nothing */
};

typedef struct milter_result {
	int verdict;              /* enum milter_verdict */
	buf reply;                /* REJECT, TEMPFAIL: the SMTP reply, no CR LF */
} milter_result;

/* What the client is, for CONNECT. */
struct milter_client {
	const char *hostname;     /* its name, or 0: "[ip]" is sent */
	const char *ip;           /* text form, or 0: unknown */
	unsigned port;
};

/* The message at the end of DATA, as the queue will store it: the
 * header fields with LF line ends (an empty line ending them may be
 * there or not), then the body, LF line ends, from memory (body) or,
 * when body is 0, through read (like pread: up to n bytes at offset
 * off, the count returned, 0 at the end, -1 error). */
struct milter_msg {
	const char *hdr;
	size_t hdrlen;
	const char *body;
	ssize_t (*read)(void *arg, unsigned long long off, char *p, size_t n);
	void *arg;
	unsigned long long bodyoff;   /* where the body starts for read */
	unsigned long long bodylen;
};

/* What the milters changed: the new header (every field, LF line ends,
 * without the empty line that ends it), the sender and recipients
 * (changed in the caller's own buffers), and the quarantine reason. */
typedef struct milter_edit {
	buf hdr;
	int hdrchanged;
	size_t hdrend;            /* hdr replaces msg->hdr[0..hdrend) */
	int quarantine;           /* 1: a milter asked for quarantine */
	buf reason;               /* its reason (may be empty) */
	spool *body;              /* set by the caller: where a new body goes
	                           * (0: REPLBODY breaks the protocol) */
	int bodychanged;          /* 1: body holds the whole new body, LF line ends */
	const void *bodyby;       /* the milter whose body it is */
	int bodycr;               /* a CR ended its last packet */
} milter_edit;

void milters_init(milters *ms, milter_logfn *log);
/* Read control/milters. 0 ok (ms->n may be 0), -1 error: errno, or a
 * malformed line explained in why. */
int milters_load(milters *ms, buf *why);
/* Parse one line of control/milters into m. 0 ok, -1 malformed (why). */
int milter_parse(milter *m, const char *line, size_t n, buf *why);
void milters_free(milters *ms);

/* Append the macro name=value to mac ("name\0value\0"); a name longer
 * than one character is put in braces. 0 ok, -1 out of memory. */
int milter_macro(buf *mac, const char *name, const char *value);

/* The stages. Each returns 0 (the verdict in r) or -1 out of memory. */
int milter_open(milters *ms, const struct milter_client *c, const buf *mac, milter_result *r);
int milter_helo(milters *ms, const char *helo, const buf *mac, milter_result *r);
int milter_mail(milters *ms, const char *from, const buf *mac, milter_result *r);
int milter_rcpt(milters *ms, const char *rcpt, const buf *mac, milter_result *r);
/* from: the sender, changed by CHGFROM; rcpts: recipients, each
 * followed by a NUL, changed by ADDRCPT and DELRCPT (when none is left,
 * the verdict is DISCARD). */
int milter_eom(milters *ms, const struct milter_msg *msg, const buf *mac,
               buf *from, buf *rcpts, milter_result *r, milter_edit *e);
void milter_abort(milters *ms);
void milter_close(milters *ms);
void milter_result_free(milter_result *r);
void milter_edit_free(milter_edit *e);

/* Pure helpers (src/mail/milteredit.c), for the tests and the fuzz target. */

/* A REPLYCODE packet's data (NUL-terminated text) into an SMTP reply
 * line in out: the code must be 4xx or 5xx; an enhanced status code is
 * added when missing; text with control characters is replaced. Returns
 * 4 or 5 (the class), -1 not a usable reply. */
int milter_replycode(const char *s, size_t n, buf *out);

/* A header being edited: the fields of a header block, each one
 * "Name:value\n" with its continuation lines, in text; f[2i] is where
 * field i starts and f[2i+1] the length of its name. */
typedef struct milter_hdrs {
	buf text;
	size_t nf, cap;           /* fields, and room in f for cap fields */
	size_t *f;
	int leadspc;              /* values as the milter gives them (HDR_LEADSPC) */
} milter_hdrs;
#define MILTER_HDRS_INIT {BUF_INIT, 0, 0, 0, 0}

/* Split a header block (up to an empty line or its end) into h.
 * Returns the number of bytes that were fields, or -1 out of memory. */
long long milter_hdrs_parse(milter_hdrs *h, const char *s, size_t n);
/* Apply one modification packet (cmd, data[0..n)): ADDHEADER,
 * INSHEADER, CHGHEADER. 0 done, -1 malformed (errno EINVAL) or out of
 * memory (ENOMEM), too many fields (ERANGE). */
int milter_hdrs_apply(milter_hdrs *h, char cmd, const char *data, size_t n);
void milter_hdrs_free(milter_hdrs *h);
/* Where field i starts (i == nf: the end of the text). */
size_t milter_hdrs_start(const milter_hdrs *h, size_t i);

/* An address from ADDRCPT, DELRCPT or CHGFROM (angle brackets taken
 * off) into out. 0 ok, -1 not an acceptable address. */
int milter_addr(const char *s, size_t n, buf *out);

#endif
