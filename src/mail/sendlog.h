/* sendlog: qmail-send's activity log (qmail-log(5)), one buffered
 * stream on a descriptor (qmail-start's pipe to the logger). Lines are
 * built from pieces and flushed by the caller when it is about to wait,
 * so a burst of deliveries costs one write. */
#ifndef NQ_SENDLOG_H
#define NQ_SENDLOG_H
#include <stddef.h>

void slog_init(int fd);
void slog_puts(const char *s);
void slog_num(unsigned long long n);
/* qmail's logsafe: a line end shows as '/', every other byte that is not
 * printable (and '%', and space) as '_', so a text stays one field. */
void slog_safe(const char *s, size_t n);
/* The queue file name of id in dir (src/mail/queue.h). */
void slog_fn(const char *dir, unsigned long id);
/* "warning: " what FILE tail "\n". */
void slog_warn(const char *what, const char *dir, unsigned long id, const char *tail);
void slog_flush(void);

#endif
