/* aliases: sendmail's forwarding syntax, as newaliases(1), newinclude(1)
 * and dot-forward(1) read it: /etc/aliases, :include: files and
 * ~/.forward. It is outside input (an administrator's or a user's file)
 * and is fuzzed.
 *
 * Entries. A file is cut into entries: a line, then every following
 * line that begins with a space or a tab or is empty (a continuation).
 * An entry whose first line begins with '#' is a comment, continuation
 * lines included, and is skipped.
 *
 * Targets. In /etc/aliases an entry is "alias: recipients". The alias is
 * what comes before the first colon (or, with no colon, the first
 * address): "user@host.dom" for one user at one host, "@host.dom" for
 * every user there, "user" for that user at every host (kept as "user@").
 * It is compared without regard to case, so it is kept lowercase.
 *
 * Recipients are an RFC 822 address list: comments in parentheses, a
 * phrase before <address>, "quoted strings", several addresses a line.
 * Each item becomes one fastforward command (fwdb.h):
 *     address        &address, completed as qmail-header(5) says
 *                    (defaulthost, defaultdomain, plusdomain); a leading
 *                    backslash (sendmail's \user) is dropped
 *     |command       !command  -- no unquoted @; usually written quoted
 *     /path          >/path    -- no unquoted @; a Maildir when it ends in /
 *     :include:file  file.bin  -- fastforward reads newinclude's output
 * and, for dot-forward, an address that names the user himself ($USER
 * without a domain, or $USER@$HOST, any case) becomes "=": deliver here.
 * Address groups are refused: colons mean something else in these files. */
#ifndef NQ_ALIASES_H
#define NQ_ALIASES_H
#include <stddef.h>
#include "lib/buf.h"
#include "mail/addr.h"

#define AL_FILE_MAX (64UL << 20)    /* bytes of an aliases, include or .forward file read */
#define AL_ENTRY_MAX (1UL << 20)    /* bytes of one entry, continuations included */

/* The next entry at *pos in s[0..n): 1 with the entry in [*e, *e + *elen)
 * (trailing line end not included) and *eline its first line number
 * (*line counts lines; start it at 1), 0 at the end. Comment entries and
 * entries of blanks only are skipped. */
int al_entry(const char *s, size_t n, size_t *pos, size_t *line,
             const char **e, size_t *elen, size_t *eline);

/* The alias of an /etc/aliases entry. 1: target set (lowercase,
 * NUL-terminated) and *rest the offset in s where the recipients begin;
 * 0: syntax error (*why); -1: no memory. */
int al_target(const char *s, size_t n, buf *target, size_t *rest, const char **why);

#define AL_INCLUDE 1    /* :include: allowed */
#define AL_PROGRAM 2    /* |command allowed */
#define AL_FILE    4    /* /path allowed */

typedef struct al_opts {
	const addr_cfg *cfg;
	unsigned flags;
	const char *user, *host;   /* non-null: spot direct delivery ("=") */
} al_opts;

/* The recipients s[0..n) as commands appended to cmds (each
 * NUL-terminated); *count is increased by their number.
 * 1 ok, 0 syntax error (*why; cmds keeps what came before), -1 no memory. */
int al_list(const al_opts *o, const char *s, size_t n, buf *cmds, size_t *count, const char **why);

/* The completion settings from control/defaulthost, defaultdomain and
 * plusdomain (each defaulting to control/me), as qmail-inject reads them.
 * 1 ok, 0 a setting is not a host name, -1 error reading (errno). */
int al_cfg_load(addr_cfg *c);

#endif
