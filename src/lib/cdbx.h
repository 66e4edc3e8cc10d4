/* cdbx: cdb lookups and atomic cdb creation on top of tinycdb.
 * A cdb is always built as NAME.tmp, fsynced and renamed over NAME. */
#ifndef NQ_CDBX_H
#define NQ_CDBX_H
#include <stddef.h>
#include "lib/buf.h"

/* Look key up in the cdb file path. 1 found (value in val), 0 not found
 * (also when the file does not exist), -1 error (errno). */
int cdbx_get(const char *path, const char *key, size_t klen, buf *val);

typedef struct cdbx_make {
	int fd;
	void *cm;        /* struct cdb_make */
	buf tmp, path;
} cdbx_make;

int cdbx_start(cdbx_make *m, const char *path, int mode);
int cdbx_add(cdbx_make *m, const char *k, size_t kl, const char *v, size_t vl);
int cdbx_finish(cdbx_make *m);   /* fsync, rename, fsync dir */
void cdbx_abort(cdbx_make *m);

#endif
