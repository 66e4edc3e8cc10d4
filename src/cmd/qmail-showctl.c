/* qmail-showctl: explain the configuration of this instance.
 *
 * It prints the instance's compiled-in settings (home, split, limits, role
 * ids), then every control file nqmail knows, in alphabetical order, with
 * what its contents mean or, when the file is missing, "(Default.)" and
 * what the default is. Then it names every other file in control/ as one
 * it has no idea about, which catches misspelt names. The table `ctls`
 * below is the one list of control files and their defaults: a new control
 * file gets a line there and in doc/qmail-control.5.
 *
 * Output is for people; a control file that cannot be read gets an
 * "Oops!" line and makes the exit code 111, everything else exits 0.
 * Files that hold secrets (servercert.pem, smtpauth) are never shown. */
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/control.h"
#include "mail/instance.h"
#include "mail/local.h"
#include "mail/queue.h"
#include "mail/spawn.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum kind {
	K_LIST,    /* every line; comments and blank lines skipped */
	K_STR,     /* first line; default def */
	K_ME,      /* first line; default: control/me */
	K_NUM,     /* unsigned number; default def */
	K_TEXT,    /* the whole file, every line shown */
	K_LISTEN,  /* address:port lines; an empty file turns the service off */
	K_PEM,     /* present or not; never shown */
	K_CDB      /* compiled from the file named in def; compare the times */
};

struct ctl {
	const char *name;
	enum kind kind;
	const char *def;    /* K_STR/K_NUM/K_TEXT: default value; others: default text */
	const char *pre;    /* printed before each value */
	const char *post;   /* and after it */
};

/* Every control file nqmail knows, qmail's (qmail-control(5)) and ours. */
static const struct ctl ctls[] = {
	{"aliases", K_STR, "/etc/aliases", "newaliases compiles ", " (fastforward reads its .cdb)."},
	{"authratelimit", K_LIST, "No message rate limit for authenticated logins.", "AUTH message rate limit (login:count[/seconds]): ", ""},
	{"authservid", K_ME, 0, "Authentication-Results fields name this host as ", "."},
	{"authsenders", K_LIST, "No routes by envelope sender.", "Sender route: ", ""},
	{"badmailfrom", K_LIST, "Any MAIL FROM is allowed.", "", " not accepted in MAIL FROM."},
	{"badrcptto", K_LIST, "Any RCPT TO is allowed.", "", " not accepted in RCPT TO."},
	{"bouncefrom", K_STR, "MAILER-DAEMON", "Bounce user name is ", "."},
	{"bouncehost", K_ME, 0, "Bounce host name is ", "."},
	{"concurrencyincoming", K_NUM, "100", "SMTP or POP3 sessions at once, per listener (tcpserver -c): ", "."},
	{"concurrencylocal", K_NUM, "10", "Local concurrency is ", "."},
	{"concurrencyremote", K_NUM, "20", "Remote concurrency is ", "."},
	{"databytes", K_NUM, "0", "SMTP DATA limit is ", " bytes (0: no limit)."},
	{"defaultdelivery", K_TEXT, "./Maildir/", "Default delivery (qmail-start's argument, for a user without .qmail): ", ""},
	{"defaultdomain", K_ME, 0, "Default domain name is ", "."},
	{"defaulthost", K_ME, 0, "Default host name is ", "."},
	{"dkim", K_PEM, "No DKIM keys: qmail-remote signs nothing.", "DKIM keys and signing table, control/dkim/ (dkim(5); keys not shown)", "."},
	{"dkimverify", K_NUM, "1", "DKIM and DMARC checks of incoming SMTP mail: ", " (0: off; 1: on)."},
	{"dmarcpolicy", K_STR, "none", "A DMARC failure is ", " (none: only recorded; quarantine: marked X-DMARC-Quarantine; reject: refused under p=reject)."},
	{"dnsservers", K_LIST, "DNS servers are those of /etc/resolv.conf.", "DNS server: ", "."},
	{"doublebouncehost", K_ME, 0, "2B recipient host: ", "."},
	{"doublebounceto", K_STR, "postmaster", "2B recipient user: ", "."},
	{"envnoathost", K_ME, 0, "Presumed domain name is ", "."},
	{"greetdelay", K_NUM, "0", "SMTP greeting delay is ", " seconds (0: none; a client talking before the greeting is dropped)."},
	{"helohost", K_ME, 0, "SMTP client HELO host name is ", "."},
	{"idhost", K_ME, 0, "Message-ID host name is ", "."},
	{"localiphost", K_ME, 0, "Local IP address becomes ", "."},
	{"locals", K_LIST, "Messages for me are delivered locally.", "Messages for ", " are delivered locally."},
	{"loginsenders", K_LIST, "An authenticated login may send only as its own addresses.", "Login may also send as (login:pattern): ", ""},
	{"maxperip", K_NUM, "0", "SMTP sessions at once from one client address: at most ", " (0: no limit)."},
	{"maxrcpt", K_NUM, "1000", "SMTP recipients per message: at most ", " (0: the default, 1000)."},
	{"me", K_STR, "undefined! Uh-oh", "My name is ", "."},
	{"milters", K_LIST, "No milters: qmail-smtpd asks no content filter.", "Milter (content filter) asked by qmail-smtpd: ", ""},
	{"moreipme", K_LIST, "No other addresses are mine.", "Also my address: ", "."},
	{"mtasts", K_STR, "on", "MTA-STS (RFC 8461) for remote deliveries by MX is ", " (on or off; qmail-mtasts(8))."},
	{"mtastscafile", K_STR, "the system's store", "Trust anchors for MTA-STS (policy servers and exchangers): ", "."},
	{"morercpthosts", K_LIST, 0, "SMTP clients may send messages to recipients at ", "."},
	{"morercpthosts.cdb", K_CDB, "morercpthosts", 0, 0},
	{"notipme", K_LIST, "Every address of my interfaces is mine.", "Not my address: ", "."},
	{"outgoingip", K_STR, "chosen by the system", "Outgoing IPv4 address is ", "."},
	{"outgoingip6", K_STR, "chosen by the system", "Outgoing IPv6 address is ", "."},
	{"percenthack", K_LIST, "The percent hack is not allowed.", "The percent hack is allowed for user%host@", "."},
	{"plusdomain", K_ME, 0, "Plus domain name is ", "."},
	{"pop3-listen", K_LISTEN, "110", "POP3 listens on ", "."},
	{"pop3plainloopback", K_NUM, "0", "POP3 takes USER and PASS without TLS from loopback clients: ", " (0: no, TLS first; 1: yes, POP3PLAINLOOPBACK)."},
	{"pop3s-listen", K_LISTEN, "995", "POP3 over TLS listens on ", "."},
	{"qmqpservers", K_LIST, "No QMQP servers.", "QMQP server: ", "."},
	{"queuelifetime", K_NUM, "604800", "Message lifetime in the queue is ", " seconds."},
	{"rcptcheck", K_NUM, "1", "Recipient check at RCPT time is ", " (1: local addresses that would bounce get 550; 0: off)."},
	{"rcpthosts", K_LIST, "SMTP clients may send messages only to addresses without a domain (unlike qmail, no rcpthosts is no open relay).", "SMTP clients may send messages to recipients at ", "."},
	{"servercert.pem", K_PEM, "No certificate: the servers offer no TLS.", "Certificate and key for the servers' TLS", "."},
	{"smtpauth", K_PEM, "No credentials: qmail-remote never authenticates.", "Credentials for qmail-remote's AUTH (not shown)", "."},
	{"qmqp-listen", K_LIST, "No QMQP listener (qmailctl starts one for each line, port 628).", "QMQP listens on ", "."},
	{"qmtp-listen", K_LIST, "No QMTP listener (qmailctl starts one for each line, port 209).", "QMTP listens on ", "."},
	{"smtpd-listen", K_LISTEN, "25", "SMTP listens on ", "."},
	{"smtpgreeting", K_ME, 0, "SMTP greeting: 220 ", "."},
	{"reuseconnections", K_NUM, "1", "Kept SMTP sessions for the next message to the same destination: ", " (1: on; 0: one connection per delivery, qmail-rspawn(8))."},
	{"smtproutes", K_LIST, "No artificial SMTP routes.", "SMTP route: ", ""},
	{"smtps-listen", K_LISTEN, "465", "SMTP over TLS (submission) listens on ", "."},
	{"spfpolicy", K_NUM, "0", "SPF policy at MAIL FROM is ", " (0: record the result only; 1: also refuse fail; 2: also defer temperror)."},
	{"srs", K_PEM, "No SRS secret (srs(5)).", "SRS secrets, first signs, all verify (srs(5); not shown)", "."},
	{"srsdomain", K_STR, "none: SRS is off", "SRS domain for the sender of forwards to other domains (srs(5)) is ", "."},
	{"srsmaxage", K_NUM, "21", "SRS0 addresses stay valid for ", " days."},
	{"submission-listen", K_LISTEN, "587", "Submission listens on ", "."},
	{"tcp.qmqp", K_LIST, "No QMQP rules: qmailctl admits loopback only.", "QMQP tcpserver rule: ", ""},
	{"tcp.qmqp.cdb", K_CDB, "tcp.qmqp", 0, 0},
	{"tcp.qmtp", K_LIST, "No QMTP rules: no QMTP client may relay.", "QMTP tcpserver rule: ", ""},
	{"tcp.qmtp.cdb", K_CDB, "tcp.qmtp", 0, 0},
	{"tcp.smtp", K_LIST, "No tcpserver rules for SMTP here (qmailctl cdb also looks at /etc/tcp.smtp).", "SMTP tcpserver rule: ", ""},
	{"tcp.smtp.cdb", K_CDB, "tcp.smtp", 0, 0},
	{"tcpremotehost", K_NUM, "0", "tcpserver looks up each SMTP client's host name in DNS: ", " (0: no, -H; 1: yes, -h)."},
	{"timeoutconnect", K_NUM, "60", "SMTP client connection timeout is ", " seconds."},
	{"timeoutremote", K_NUM, "1200", "SMTP client data timeout is ", " seconds."},
	{"timeoutsmtpd", K_NUM, "1200", "SMTP server data timeout is ", " seconds."},
	{"tlsdestinations", K_LIST, "No outbound TLS policy: STARTTLS when offered (may).", "Outbound TLS policy: ", ""},
	{"tlsserverciphers", K_STR, "OpenSSL's default", "TLS 1.2 ciphers of the servers: ", "."},
	{"virtualdomains", K_LIST, "No virtual domains.", "Virtual domain: ", ""},
};
#define NCTLS (sizeof ctls / sizeof ctls[0])

static io_out out;
static buf me = BUF_INIT;
static int meok;          /* control/me exists */
static int trouble;       /* some file could not be read */
static int single;        /* a single-user instance */

static void put(const char *s) { out_puts(&out, s); }
static void putnum(unsigned long long n) { char s[24]; out_put(&out, s, fmt_ulong(s, n)); }

/* Outside text is shown with every byte that is not printable ASCII as '?'. */
static void safeput(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		char c = (s[i] < 32 || s[i] > 126) ? '?' : s[i];
		out_put(&out, &c, 1);
	}
}

static void oops(const char *what)
{
	trouble = 1;
	put("Oops! Trouble reading this file: ");
	put(what);
	put(".\n");
}

/* DIR/control/name, in a buffer reused by every call. */
static const char *ctlpath(const char *name)
{
	static buf rel = BUF_INIT, full = BUF_INIT;
	if (buf_copys(&rel, "control/") < 0 || buf_puts(&rel, name) < 0) err_nomem();
	return nq_path(&full, rel.s);
}

static int exists(const char *name, struct stat *st)
{
	return stat(ctlpath(name), st) == 0;
}

static void show_list(const struct ctl *c)
{
	buf b = BUF_INIT;
	const char *p;
	int r = control_readlines(&b, c->name);

	if (r < 0) { oops(strerror(errno)); buf_free(&b); return; }
	if (r == 0) {
		put("(Default.) ");
		if (!c->def) put("No effect.");   /* morercpthosts */
		else put(c->def);
		put("\n");
		buf_free(&b);
		return;
	}
	put("\n");
	for (p = 0; (p = list_next(&b, p)); ) {
		put(c->pre);
		safeput(p, strlen(p));
		put(c->post);
		put("\n");
	}
	buf_free(&b);
}

static void show_str(const struct ctl *c)
{
	buf b = BUF_INIT;
	int r = control_readline(&b, c->name, 0);

	if (r < 0) { oops(strerror(errno)); buf_free(&b); return; }
	if (r == 0) {
		put("(Default.) ");
		if (c->kind == K_ME) {
			if (meok) { if (buf_copy(&b, me.s, me.len) < 0) err_nomem(); }
			else if (buf_copys(&b, "undefined, as control/me is missing") < 0) err_nomem();
		} else if (buf_copys(&b, c->def) < 0) err_nomem();
	}
	put(c->pre);
	safeput(b.s, b.len);
	put(c->post);
	put("\n");
	buf_free(&b);
}

static void show_num(const struct ctl *c)
{
	unsigned long u, def;

	if (str_toul(c->def, &def) < 0) def = 0;
	switch (control_readulong(&u, c->name, def)) {
	case 0:
		put("(Default.) ");
		/* fall through */
	case 1:
		put(c->pre);
		putnum(u);
		put(c->post);
		if ((str_eq(c->name, "concurrencylocal") && u > SPAWN_MAX) ||
		    (str_eq(c->name, "concurrencyremote") && u > SPAWN_REMOTE_MAX)) {
			put(" The silent limit makes it ");
			putnum(str_eq(c->name, "concurrencylocal") ? SPAWN_MAX : SPAWN_REMOTE_MAX);
			put(".");
		}
		put("\n");
		break;
	default:
		oops(errno == EINVAL ? "not a number" : strerror(errno));
	}
}

static void show_text(const struct ctl *c)
{
	buf b = BUF_INIT;
	size_t i = 0, n;

	if (read_file(ctlpath(c->name), &b, CONTROL_MAX) < 0) {
		if (errno != ENOENT) oops(strerror(errno));
		else { put("(Default.) "); put(c->pre); put(c->def); put("\n"); }
		goto done;
	}
	while (b.len && (b.s[b.len - 1] == '\n' || b.s[b.len - 1] == ' ' || b.s[b.len - 1] == '\t')) b.len--;
	if (!b.len) { put("(Empty, so the default.) "); put(c->pre); put(c->def); put("\n"); goto done; }
	put(c->pre);
	put("\n");
	while (i < b.len) {
		n = byte_chr(b.s + i, b.len - i, '\n');
		put("  ");
		safeput(b.s + i, n);
		put("\n");
		i += n + 1;
	}
done:
	buf_free(&b);
}

/* The listen files: a missing one means every address on the kind's
 * port in a root instance, and off in a single-user one, whose owner may
 * not bind ports below 1024 (c->def is the port). qmailctl reads the same
 * files. */
static void show_listen(const struct ctl *c)
{
	buf b = BUF_INIT;
	const char *p;
	int r = control_readlines(&b, c->name);

	if (r < 0) { oops(strerror(errno)); buf_free(&b); return; }
	if (r == 0 && single) put("(Default.) Off: a single-user instance listens only where this file says.");
	else if (r == 0) {
		put("(Default.) "); put(c->pre);
		put("0.0.0.0:"); put(c->def); put(" and [::]:"); put(c->def);
		put(" (every address, IPv4 and IPv6)"); put(c->post);
	} else if (!b.len) put("Off (the file is empty).");
	else {
		put(c->pre);
		for (p = 0; (p = list_next(&b, p)); ) {
			if (p != b.s) put(", ");
			safeput(p, strlen(p));
		}
		put(c->post);
	}
	put("\n");
	buf_free(&b);
}

/* A file with secrets: only whether it is there and who may read it. For
 * servercert.pem, qmail-mkcert's marker line says which name its
 * self-signed certificate is for. */
static void show_pem(const struct ctl *c)
{
	static const char mark[] = "# nqmail qmail-mkcert: self-signed certificate for ";
	struct stat st;
	buf b = BUF_INIT;

	if (!exists(c->name, &st)) { put("(Default.) "); put(c->def); put("\n"); return; }
	put(c->pre);
	if (str_eq(c->name, "servercert.pem") && read_file(ctlpath(c->name), &b, CONTROL_MAX) == 0 &&
	    b.len > sizeof mark - 1 && !memcmp(b.s, mark, sizeof mark - 1)) {
		size_t n = byte_chr(b.s, b.len, '\n');
		put(": self-signed by qmail-mkcert for ");
		safeput(b.s + sizeof mark - 1, n - (sizeof mark - 1));
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & 004)) put("; warning: anyone may read it");
	put(c->post);
	put("\n");
	buf_free(&b);
}

/* A cdb compiled from a text file: both or neither, and not older. */
static void show_cdb(const struct ctl *c)
{
	struct stat src, cdb;
	int hs = exists(c->def, &src), hc = exists(c->name, &cdb);

	/* qmailctl cdb compiles /etc/tcp.smtp when control/ has none. */
	if (!hs && str_eq(c->def, "tcp.smtp") && stat("/etc/tcp.smtp", &src) == 0) {
		hs = 1;
		put("(from /etc/tcp.smtp) ");
	}
	if (!hs && !hc) { put("(Default.) No effect.\n"); return; }
	if (!hs) { put("Oops! "); put(c->name); put(" exists but "); put(c->def); put(" doesn't.\n"); return; }
	if (!hc) { put("Oops! "); put(c->def); put(" exists but "); put(c->name); put(" doesn't.\n"); return; }
	if (src.st_mtime > cdb.st_mtime) { put("Oops! "); put(c->name); put(" is older than "); put(c->def); put(".\n"); return; }
	put("Modified recently enough; hopefully up to date.\n");
}

static void show(const struct ctl *c)
{
	put("\n");
	put(c->name);
	put(": ");
	switch (c->kind) {
	case K_LIST: show_list(c); break;
	case K_STR: case K_ME: show_str(c); break;
	case K_NUM: show_num(c); break;
	case K_TEXT: show_text(c); break;
	case K_LISTEN: show_listen(c); break;
	case K_PEM: show_pem(c); break;
	case K_CDB: show_cdb(c); break;
	}
}

static int known(const char *name)
{
	size_t i;
	for (i = 0; i < NCTLS; i++)
		if (str_eq(ctls[i].name, name)) return 1;
	return 0;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void settings(void)
{
	nq_ids ids;
	int r;

	put("qmail home directory: "); put(nq_home()); put(".\n");
	put("user-ext delimiter: -.\n");
	put("paternalism (in decimal): "); putnum(LOCAL_PATRN); put(".\n");
	put("silent concurrency limit: "); putnum(SPAWN_MAX); put(".\n");
	put("subdirectory split: "); putnum(QUEUE_SPLIT); put(".\n");
	if (nq_ids_read(&ids) < 0) {
		trouble = 1;
		put("Oops! Unable to read users/ids: "); put(strerror(errno)); put(".\n");
		return;
	}
	single = ids.single;
	put(ids.single ? "instance: single-user (every role is one uid).\n"
	               : "instance: root (one uid for each role).\n");
	put("user ids:");
	for (r = 0; r < R_NROLES; r++) {
		put(r ? ", " : " ");
		put(nq_role_name((enum nq_role)r));
		put(" ");
		putnum(ids.uid[r]);
	}
	put(".\ngroup ids: nofiles "); putnum(ids.nofiles);
	put(", qmail "); putnum(ids.qmail); put(".\n");
}

int main(int argc, char **argv)
{
	buf path = BUF_INIT, names = BUF_INIT;
	DIR *dir;
	struct dirent *d;
	size_t i, nnames = 0;

	err_prog = "qmail-showctl";
	if (argc > 1) err_die(EXIT_PERM, "usage: qmail-showctl", (char *)0);
	out_init(&out, 1, 0);

	settings();
	switch (control_readline(&me, "me", 0)) {
	case 1: meok = 1; break;
	case 0: break;
	default:
		put("Oops! Trouble reading control/me.\n");
		out_flush(&out);
		return EXIT_TEMP;
	}
	for (i = 0; i < NCTLS; i++) show(&ctls[i]);

	dir = opendir(nq_path(&path, "control"));
	if (!dir) {
		put("\nOops! Unable to read the directory control/: ");
		put(strerror(errno));
		put(".\n");
		out_flush(&out);
		return EXIT_TEMP;
	}
	/* The unknown names, NUL-separated, then shown in sorted order. */
	while ((d = readdir(dir))) {
		if (str_eq(d->d_name, ".") || str_eq(d->d_name, "..") || known(d->d_name)) continue;
		if (buf_puts(&names, d->d_name) < 0 || buf_put0(&names) < 0) err_nomem();
		nnames++;
	}
	closedir(dir);
	if (nnames) {
		const char **v = calloc(nnames, sizeof *v);
		const char *p = 0;
		if (!v) err_nomem();
		for (i = 0; (p = list_next(&names, p)); i++) v[i] = p;
		qsort(v, nnames, sizeof *v, cmpstr);
		for (i = 0; i < nnames; i++) {
			put("\n");
			safeput(v[i], strlen(v[i]));
			put(": I have no idea what this file does.\n");
		}
		free(v);
	}
	buf_free(&names);
	buf_free(&path);
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	return trouble ? EXIT_TEMP : 0;
}
