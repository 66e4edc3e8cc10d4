/* fdlimit: room for many open descriptors. A daemon that keeps one
 * descriptor per delivery in flight (qmail-send's channel files,
 * qmail-rspawn's pipes) raises its soft RLIMIT_NOFILE towards the hard
 * one, and sizes its tables from what it got rather than failing later
 * with EMFILE. */
#ifndef NQ_FDLIMIT_H
#define NQ_FDLIMIT_H

/* Raise the soft limit on open descriptors to want (at most the hard
 * limit) if it is lower. Returns the soft limit in force afterwards;
 * never lowers it. */
unsigned long fd_limit_raise(unsigned long want);

#endif
