/* str: scanning and comparing counted and NUL-terminated strings. */
#ifndef NQ_STR_H
#define NQ_STR_H
#include <stddef.h>

/* Parse a decimal number at the start of s (at most n bytes); returns the
 * number of bytes used (0: none or overflow). */
size_t scan_ulong(const char *s, size_t n, unsigned long *u);
/* Whole string s must be a decimal number; 0 ok, -1 not. */
int str_toul(const char *s, unsigned long *u);
/* Writes decimal n into s (at least 21 bytes), NUL-terminated; returns length. */
size_t fmt_ulong(char *s, unsigned long long n);
int str_eq(const char *a, const char *b);
int str_start(const char *s, const char *prefix);
int case_eqn(const char *a, const char *b, size_t n);  /* ASCII, n bytes */
int case_eq(const char *a, const char *b);
void case_lower(char *s, size_t n);
/* Last index of c in s[0..n), or n when absent. */
size_t byte_rchr(const char *s, size_t n, char c);
size_t byte_chr(const char *s, size_t n, char c);

#endif
