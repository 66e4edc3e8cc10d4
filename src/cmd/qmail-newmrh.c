/* qmail-newmrh: compile control/morercpthosts into
 * control/morercpthosts.cdb (qmail-newmrh(8)).
 *
 * Each line of morercpthosts (blank lines and '#' comments skipped,
 * trailing blanks removed) becomes a key, lowercased, with an empty
 * value; qmail-smtpd then treats the cdb as an extension of rcpthosts
 * (src/mail/rcpthosts.h). The cdb is written as morercpthosts.cdb.tmp,
 * fsynced and renamed, so qmail-smtpd sees the old or the new one, never
 * half of one. On trouble the old cdb stays and the exit code is 111. */
#include "lib/cdbx.h"
#include "lib/err.h"
#include "lib/str.h"
#include "mail/control.h"
#include "mail/instance.h"
#include <string.h>

int main(void)
{
	buf lines = BUF_INIT, path = BUF_INIT, key = BUF_INIT;
	const char *p;
	cdbx_make cm;

	err_prog = "qmail-newmrh";
	if (control_readlines(&lines, "morercpthosts") < 0)
		err_dieerr(EXIT_TEMP, "unable to read control/morercpthosts", (char *)0);
	nq_path(&path, "control/morercpthosts.cdb");
	if (cdbx_start(&cm, path.s, 0644) < 0) err_dieerr(EXIT_TEMP, "unable to create ", path.s, ".tmp", (char *)0);
	for (p = 0; (p = list_next(&lines, p)); ) {
		if (buf_copys(&key, p) < 0) { cdbx_abort(&cm); err_nomem(); }
		case_lower(key.s, key.len);
		if (cdbx_add(&cm, key.s, key.len, "", 0) < 0) {
			cdbx_abort(&cm);
			err_dieerr(EXIT_TEMP, "unable to write ", path.s, ".tmp", (char *)0);
		}
	}
	if (cdbx_finish(&cm) < 0) err_dieerr(EXIT_TEMP, "unable to replace ", path.s, (char *)0);
	buf_free(&lines);
	buf_free(&path);
	buf_free(&key);
	return 0;
}
