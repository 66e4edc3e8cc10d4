/* rcptcheck: the RCPT-time "would this bounce locally?" rule and its
 * client (see rcptcheck.h). */
#include "mail/rcptcheck.h"
#include "mail/dotqmail.h"
#include "mail/srs.h"
#include "lib/fdpipe.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int rcptcheck_srs(const char *addr, size_t len)
{
	struct srs_cfg c = SRS_CFG_INIT;
	const char *what;
	int k, answer = RC_YES;

	/* most addresses are no SRS address at all: no control file read
	 * for them; then control/srsdomain, and the secrets only for an SRS
	 * address of ours */
	if (!srs_tagged(addr, byte_rchr(addr, len, '@'))) return RC_YES;
	k = srs_load_domain(&c);
	if (k <= 0) goto out;
	k = srs_check(&c, addr, len, time(0));
	if (k == SRS_NOSECRET) {
		srs_free(&c);
		/* qmail-smtpd may not be allowed to read control/srs:
		 * then qmail-rcptcheck, which is, decides */
		if (srs_load(&c, &what) < 0) { answer = RC_UNKNOWN; goto out; }
		k = srs_check(&c, addr, len, time(0));
	}
	if (k == SRS_BADHASH || k == SRS_EXPIRED || k == SRS_BADFORM) answer = RC_NO;
	else if (k != SRS_OK && k != SRS_NOTSRS) answer = RC_UNKNOWN;
out:
	srs_free(&c);
	return answer;
}

int rcptcheck(const struct rc_cfg *c, const char *addr, size_t len)
{
	users_ent e = USERS_ENT_INIT;
	buf rw = BUF_INIT;
	size_t at;
	int r, answer = RC_UNKNOWN;

	if (memchr(addr, 0, len)) return RC_UNKNOWN;
	r = rcptcheck_srs(addr, len);
	if (r != RC_YES) return r;
	r = route_rewrite(c->route, addr, len, &rw);
	if (r < 0) goto out;
	if (r == ROUTE_REMOTE) { answer = RC_REMOTE; goto out; }

	at = byte_rchr(rw.s, rw.len, '@');
	if (at == 0) { answer = RC_YES; goto out; }          /* the trash address */
	if (at > USERS_LOCAL_MAX) { answer = RC_NO; goto out; }

	r = users_cdb(&e, c->cdbpath, rw.s, at);
	if (r == 0 && !c->ids->single) r = c->passwd(&e, rw.s, at, c->arg);
	if (r == 0) r = users_alias(&e, c->ids, c->aliashome, rw.s, at) < 0 ? -1 : 1;
	if (r < 0) goto out;

	if (c->ids->single && e.uid != c->owner) { answer = RC_NO; goto out; }
	if (!*e.dash) { answer = RC_YES; goto out; }
	answer = c->dotqmail(&e, c->arg);
out:
	users_free(&e);
	buf_free(&rw);
	return answer;
}

/* As in local delivery: these mean "this candidate is not there". */
static int absent(int e)
{
	return e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG || e == ELOOP || e == EISDIR || e == ENXIO;
}

int rcptcheck_dotqmail(const char *home, const char *dash, const char *ext)
{
	buf safe = BUF_INIT, name = BUF_INIT;
	size_t iter = 0, defat;
	int fd, r, answer = RC_NO;

	if (!*dash) return RC_YES;
	if (*home != '/') return RC_UNKNOWN;
	fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) return RC_UNKNOWN;
	if (dq_safeext(&safe, ext, strlen(ext)) < 0) { answer = RC_UNKNOWN; goto out; }
	for (;;) {
		struct stat st;
		r = dq_candidate(&name, dash, &safe, &iter, &defat);
		if (r < 0) { answer = RC_UNKNOWN; break; }
		if (r == 0) break;
		if (fstatat(fd, name.s, &st, 0) == 0) {
			if (S_ISREG(st.st_mode)) { answer = RC_YES; break; }
			continue;
		}
		if (!absent(errno)) { answer = RC_UNKNOWN; break; }
	}
out:
	close(fd);
	buf_free(&safe);
	buf_free(&name);
	return answer;
}

/* ---- client ------------------------------------------------------------ */

static int start(rcptclient *c, const char *prog)
{
	int a[2], b[2];
	char *argv[2];

	if (pipe_above(a, 3) < 0) return -1;
	if (pipe_above(b, 3) < 0) { close(a[0]); close(a[1]); return -1; }
	c->pid = fork();
	if (c->pid < 0) {
		close(a[0]); close(a[1]); close(b[0]); close(b[1]);
		c->pid = 0;
		return -1;
	}
	if (c->pid == 0) {
		/* Questions on 0, answers on 1; stderr stays our log. */
		if (dup2(a[0], 0) < 0 || dup2(b[1], 1) < 0) _exit(111);
		sig_default(SIGPIPE);
		argv[0] = (char *)prog;
		argv[1] = 0;
		execv(prog, argv);
		_exit(111);
	}
	close(a[0]);
	close(b[1]);
	c->to = a[1];
	c->from = b[0];
	return 0;
}

int rcptclient_ask(rcptclient *c, const char *prog, const char *addr, size_t len, int timeout)
{
	struct pollfd p;
	char ans;
	ssize_t r;

	if (c->broken || len > RC_REQUEST_MAX || memchr(addr, 0, len)) return RC_UNKNOWN;
	if (!c->pid && start(c, prog) < 0) goto broken;
	if (write_all(c->to, addr, len) < 0 || write_all(c->to, "", 1) < 0) goto broken;
	p.fd = c->from;
	p.events = POLLIN;
	for (;;) {
		int k = poll(&p, 1, timeout > 0 ? timeout * 1000 : -1);
		if (k > 0) break;
		if (k == 0 || errno != EINTR) goto broken;
	}
	for (;;) {
		r = read(c->from, &ans, 1);
		if (r < 0 && errno == EINTR) continue;
		break;
	}
	if (r != 1) goto broken;
	if (ans == RC_YES || ans == RC_NO || ans == RC_REMOTE || ans == RC_UNKNOWN) return ans;
broken:
	/* Never ask again in this session: every later answer would be late
	 * or out of step. */
	rcptclient_close(c);
	c->broken = 1;
	return RC_UNKNOWN;
}

void rcptclient_close(rcptclient *c)
{
	int st;

	if (c->to >= 0) close(c->to);
	if (c->from >= 0) close(c->from);
	c->to = c->from = -1;
	if (c->pid > 0) {
		/* The helper exits at end of input; one that is stuck is not
		 * waited for. */
		kill(c->pid, SIGTERM);
		wait_pid(c->pid, &st, 0);
	}
	c->pid = 0;
}
