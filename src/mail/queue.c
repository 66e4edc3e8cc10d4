/* queue: names inside DIR/queue. */
#include "mail/queue.h"
#include "lib/err.h"
#include "lib/str.h"

int queue_split_dir(const char *dir)
{
	return str_eq(dir, "mess") || str_eq(dir, "info") ||
	       str_eq(dir, "local") || str_eq(dir, "remote");
}

const char *queue_fn(buf *b, const char *dir, unsigned long num)
{
	if (buf_copys(b, dir) < 0 || buf_putc(b, '/') < 0) err_nomem();
	if (queue_split_dir(dir))
		if (buf_putnum(b, num % QUEUE_SPLIT) < 0 || buf_putc(b, '/') < 0) err_nomem();
	if (buf_putnum(b, num) < 0) err_nomem();
	return b->s;
}
