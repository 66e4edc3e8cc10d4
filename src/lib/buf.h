/* buf: a growable, length-tracked byte buffer.
 * Every growth checks for size_t overflow and for the optional limit;
 * a failed growth leaves the buffer as it was and returns -1 with errno set
 * (ENOMEM, or ERANGE when the limit or size_t would be exceeded).
 * s is always NUL-terminated after a successful call (the NUL is not counted
 * in len), so a buffer holding text can be passed to system calls. */
#ifndef NQ_BUF_H
#define NQ_BUF_H
#include <stddef.h>

typedef struct buf {
	char *s;
	size_t len;
	size_t cap;   /* bytes allocated, including room for the NUL */
	size_t max;   /* 0: no limit other than memory; else len may not exceed it */
} buf;

#define BUF_INIT {0, 0, 0, 0}

int buf_ready(buf *b, size_t n);          /* room for n more bytes */
int buf_put(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_putnum(buf *b, unsigned long long n);
int buf_copy(buf *b, const void *p, size_t n);
int buf_copys(buf *b, const char *s);
int buf_put0(buf *b);                     /* append a counted NUL byte */
void buf_trunc(buf *b, size_t n);
void buf_free(buf *b);
void buf_wipe(buf *b);                  /* zero every byte (secrets), then free */
int buf_eq(const buf *a, const buf *b);  /* same length and bytes */
int buf_starts(const buf *b, const char *prefix);

#endif
