/* qbiff: tell the recipient at their terminals that mail has come.
 *
 *   in .qmail:  | qbiff
 *
 * For each login of $USER in the utmp file (the system's, or the file
 * named by $QBIFF_UTMP) whose terminal has its owner-execute bit set
 * ("biff y") and belongs to the user qbiff runs as, qbiff writes a bell
 * and two lines:
 *   *** TO <$LOCAL> FROM <$SENDER>
 *       the Subject, then the start of the body (78 columns in all)
 * Every byte that is not printable ASCII is shown as '_' or '/', so a
 * message cannot send escape sequences to the terminal. Only terminals
 * named below /dev without "." in the name are written to, without
 * blocking.
 *
 * qbiff never makes a delivery fail: it always exits 0. It reads only the
 * header and the first bytes of the body, each field cut to a few
 * kilobytes, so its memory does not depend on the message. */
#include "mail/hdrscan.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/io.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmpx.h>

#define TEXT_MAX 78          /* columns of the second line */
#define ADDR_SHOWN 200       /* bytes of $LOCAL and $SENDER shown */
#define FIELD_KEEP 4096      /* bytes kept of a header field */

static void shown(buf *b, const char *s, size_t max, char bad)
{
	size_t i, at = b->len;
	size_t n = strnlen(s, max);
	if (buf_put(b, s, n) < 0) _exit(0);
	for (i = at; i < b->len; i++)
		if ((unsigned char)b->s[i] < 32 || (unsigned char)b->s[i] > 126) b->s[i] = bad;
}

static void addtext(buf *t, const char *s, size_t n)
{
	if (t->len >= TEXT_MAX) return;
	if (n > TEXT_MAX - t->len) n = TEXT_MAX - t->len;
	if (buf_put(t, s, n) < 0) _exit(0);
}

/* "    Subject then body", from the message on fd 0. */
static void summary(buf *text)
{
	io_in in;
	hdrscan h;
	buf f = BUF_INIT, v = BUF_INIT;
	int r;
	char c;

	addtext(text, "    ", 4);
	in_init(&in, 0, 0);
	hdrscan_init(&h, &in, FIELD_KEEP);
	while ((r = hdrscan_field(&h, &f)) == 1)
		if (hdrscan_is(&f, "Subject") && hdrscan_value(&f, &v) == 0) {
			addtext(text, v.s, v.len);
			addtext(text, "\n", 1);
		}
	if (r == 0 && h.bodyline) addtext(text, f.s, f.len);
	while (r == 0 && text->len < TEXT_MAX && in_getc(&in, &c) == 1) addtext(text, &c, 1);
	buf_free(&f);
	buf_free(&v);
}

int main(void)
{
	const char *user, *sender, *local, *utmp;
	buf note = BUF_INIT, text = BUF_INIT;
	struct utmpx *ut;
	struct stat st;
	char line[sizeof ut->ut_line + 1];
	size_t i;
	int fd;

	err_prog = "qbiff";
	if (chdir("/dev") < 0) return 0;
	user = getenv("USER");
	sender = getenv("SENDER");
	local = getenv("LOCAL");
	if (!user || !sender || !local) return 0;
	if (strlen(user) > sizeof ut->ut_user) return 0;

	if (buf_copys(&note, "\r\n\a*** TO <") < 0) return 0;
	shown(&note, local, ADDR_SHOWN, '_');
	if (buf_puts(&note, "> FROM <") < 0) return 0;
	shown(&note, sender, ADDR_SHOWN, '_');
	if (buf_puts(&note, ">\r\n") < 0) return 0;
	summary(&text);
	for (i = 0; i < text.len; i++)
		if ((unsigned char)text.s[i] < 32 || (unsigned char)text.s[i] > 126) text.s[i] = '/';
	if (buf_put(&note, text.s, text.len) < 0 || buf_puts(&note, "\r\n") < 0) return 0;

	utmp = getenv("QBIFF_UTMP");
	if (utmp && *utmp && utmpxname(utmp) < 0) return 0;
	setutxent();
	while ((ut = getutxent())) {
		if (ut->ut_type != USER_PROCESS) continue;
		if (strncmp(ut->ut_user, user, sizeof ut->ut_user)) continue;
		memcpy(line, ut->ut_line, sizeof ut->ut_line);
		line[sizeof ut->ut_line] = 0;
		/* Relative to /dev, and no way out of it. */
		if (!line[0] || line[0] == '/' || strchr(line, '.')) continue;
		fd = open(line, O_WRONLY | O_APPEND | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) continue;
		if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & S_IXUSR)
		    && st.st_uid == getuid())
			(void)write_all(fd, note.s, note.len);
		close(fd);
	}
	endutxent();
	return 0;
}
