/* fuzz-aliases: the sendmail aliases/.forward parser (aliases.h) and
 * setforward's notation (fwdb.h) on arbitrary bytes. The first byte
 * chooses the parser; every result is checked against the promises:
 * entries lie inside the input and advance, targets are lowercase and
 * bounded, every command is NUL-terminated, of a known kind and bounded,
 * and setforward's instructions survive printing and parsing again. */
#include "mail/aliases.h"
#include "mail/fwdb.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_cmds(const buf *cmds, size_t count)
{
	size_t pos = 0, n = 0;
	const char *c;
	while (fwdb_next(cmds->s, cmds->len, &pos, &c) > 0) {
		if (c[0] != '=' && !fwdb_cmdtype(c)) abort();
		if (c[0] == '&' && (strlen(c) < 2 || strlen(c) > FWDB_ADDR_MAX + 1)) abort();
		n++;
	}
	if (pos != cmds->len || n != count) abort();
}

static void aliases(const char *s, size_t n)
{
	addr_cfg cfg;
	al_opts o;
	buf target = BUF_INIT, cmds = BUF_INIT;
	size_t pos = 0, line = 1, eline, elen, rest, last = 0, count;
	const char *e, *why;

	if (addr_cfg_init(&cfg, "host.example", "example", "plus.example") != 1) abort();
	o.cfg = &cfg;
	o.flags = AL_INCLUDE | AL_PROGRAM | AL_FILE;
	o.user = "me";
	o.host = "host.example";
	while (al_entry(s, n, &pos, &line, &e, &elen, &eline)) {
		if (e < s || e + elen > s + n || pos <= last || pos > n) abort();
		last = pos;
		if (al_target(e, elen, &target, &rest, &why) == 1) {
			size_t i;
			if (rest > elen || target.len == 0 || target.len > FWDB_ADDR_MAX + 1) abort();
			if (!memchr(target.s, '@', target.len)) abort();
			for (i = 0; i < target.len; i++)
				if (target.s[i] >= 'A' && target.s[i] <= 'Z') abort();
			cmds.len = 0;
			count = 0;
			if (al_list(&o, e + rest, elen - rest, &cmds, &count, &why) == 1) check_cmds(&cmds, count);
		}
		cmds.len = 0;
		count = 0;
		if (al_list(&o, e, elen, &cmds, &count, &why) == 1) check_cmds(&cmds, count);
		else if (cmds.len) abort();        /* an error keeps nothing */
	}
	buf_free(&target);
	buf_free(&cmds);
	addr_cfg_free(&cfg);
}

static void setforward(const char *s, size_t n)
{
	fwdb_instr in = FWDB_INSTR_INIT, again = FWDB_INSTR_INIT;
	buf text = BUF_INIT;
	size_t pos = 0, line = 1;
	const char *why;
	int r;

	while ((r = fwdb_parse(s, n, &pos, &line, &in, &why)) == 1) {
		size_t p = 0, l = 1, cp = 0;
		const char *c;
		check_cmds(&in.cmds, in.ncmds);
		/* print it as printforward would and parse it back */
		text.len = 0;
		if (fwdb_put_escaped(&text, in.target.s, strlen(in.target.s)) < 0 || buf_puts(&text, ":") < 0) abort();
		while (fwdb_next(in.cmds.s, in.cmds.len, &cp, &c) > 0)
			if (buf_puts(&text, " ") < 0 || fwdb_put_cmd(&text, c, strlen(c)) < 0 || buf_puts(&text, ",") < 0) abort();
		if (in.hasowner && (buf_puts(&text, "?") < 0 || fwdb_put_escaped(&text, in.owner.s, in.owner.len) < 0)) abort();
		if (buf_puts(&text, ";") < 0) abort();
		if (fwdb_parse(text.s, text.len, &p, &l, &again, &why) != 1) abort();
		if (strcmp(again.target.s, in.target.s) || again.cmds.len != in.cmds.len ||
		    (in.cmds.len && memcmp(again.cmds.s, in.cmds.s, in.cmds.len)) || again.hasowner != in.hasowner) abort();
	}
	if (r < 0 && !why) abort();
	fwdb_instr_free(&in);
	fwdb_instr_free(&again);
	buf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0) return 0;
	if (data[0] & 1) aliases((const char *)data + 1, size - 1);
	else setforward((const char *)data + 1, size - 1);
	return 0;
}
