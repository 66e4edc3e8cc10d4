/* pop3msg: message bytes to POP3 wire form (see pop3msg.h). */
#include "mail/pop3msg.h"

void pop3msg_init(pop3msg *m, int top, unsigned long lines)
{
	m->bol = 1;
	m->cr = 0;
	m->empty = 1;
	m->inbody = 0;
	m->top = top;
	m->done = 0;
	m->left = lines;
}

/* A line ended: that may end the header, or use up the TOP budget. */
static int newline(pop3msg *m, buf *out)
{
	if (buf_put(out, "\r\n", 2) < 0) return -1;
	if (!m->inbody) {
		if (m->empty) {
			m->inbody = 1;
			if (m->top && m->left == 0) m->done = 1;
		}
	} else if (m->top && --m->left == 0) {
		m->done = 1;
	}
	m->bol = 1;
	m->empty = 1;
	return 0;
}

/* One content byte (not a line end). */
static int content(pop3msg *m, char c, buf *out)
{
	if (m->bol && c == '.' && buf_putc(out, '.') < 0) return -1;
	m->bol = 0;
	m->empty = 0;
	return buf_putc(out, c);
}

int pop3msg_put(pop3msg *m, const char *p, size_t n, buf *out)
{
	size_t i;

	if (buf_ready(out, n * 2 + 4) < 0) return -1;
	for (i = 0; i < n && !m->done; i++) {
		char c = p[i];
		if (m->cr) {
			m->cr = 0;
			if (c == '\n') {
				if (newline(m, out) < 0) return -1;
				continue;
			}
			if (content(m, '\r', out) < 0) return -1;
		}
		if (c == '\r') m->cr = 1;
		else if (c == '\n') { if (newline(m, out) < 0) return -1; }
		else if (content(m, c, out) < 0) return -1;
	}
	return 0;
}

int pop3msg_end(pop3msg *m, buf *out)
{
	if (m->cr && !m->done) {
		m->cr = 0;
		if (content(m, '\r', out) < 0) return -1;
	}
	if (!m->bol && buf_put(out, "\r\n", 2) < 0) return -1;
	return buf_put(out, "\r\n.\r\n", 5);
}
