/* sendlog: qmail-send's activity log (see sendlog.h). */
#include "mail/sendlog.h"
#include "mail/queue.h"
#include "lib/buf.h"
#include "lib/io.h"
#include "lib/str.h"

static io_out logo;

void slog_init(int fd) { out_init(&logo, fd, 0); }
void slog_puts(const char *s) { out_puts(&logo, s); }
void slog_flush(void) { out_flush(&logo); }

void slog_num(unsigned long long n)
{
	char b[24];
	fmt_ulong(b, n);
	out_puts(&logo, b);
}

void slog_safe(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\n') c = '/';
		else if (c == '%' || (unsigned char)c < 33 || (unsigned char)c > 126) c = '_';
		out_put(&logo, &c, 1);
	}
}

void slog_fn(const char *dir, unsigned long id)
{
	buf b = BUF_INIT;
	slog_puts(queue_fn(&b, dir, id));
	buf_free(&b);
}

void slog_warn(const char *what, const char *dir, unsigned long id, const char *tail)
{
	slog_puts("warning: ");
	slog_puts(what);
	slog_fn(dir, id);
	slog_puts(tail);
	slog_puts("\n");
}
