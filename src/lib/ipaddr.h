/* ipaddr: IPv4 and IPv6 addresses in one small value type, with the
 * conversions every network program needs (text, sockaddr) and the
 * connect and bind steps a client does, honouring a timeout.
 *
 * An address is a family and 16 bytes: IPv4 uses the first 4. Text forms
 * are the usual dotted quad and RFC 5952 IPv6 (inet_ntop's). */
#ifndef NQ_IPADDR_H
#define NQ_IPADDR_H
#include <stddef.h>
#include <sys/socket.h>

typedef struct ipaddr {
	int family;                 /* AF_INET or AF_INET6 */
	unsigned char a[16];
} ipaddr;

#define IPADDR_FMT 48          /* room for any text form and its NUL */

/* Parse s (n bytes, no brackets) as an IPv4 or IPv6 address. 0 ok, -1 not one. */
int ipaddr_scan(ipaddr *ip, const char *s, size_t n);
/* Text form into out (IPADDR_FMT bytes); returns its length. */
size_t ipaddr_fmt(char *out, const ipaddr *ip);
int ipaddr_eq(const ipaddr *x, const ipaddr *y);
size_t ipaddr_len(const ipaddr *ip);      /* 4 or 16 */
/* sockaddr for ip and port; returns its length. */
socklen_t ipaddr_sockaddr(struct sockaddr_storage *ss, const ipaddr *ip, unsigned port);
/* The address in a sockaddr; 0 ok, -1 not IPv4/IPv6. A v4-mapped IPv6
 * address is returned as IPv4. */
int ipaddr_from_sockaddr(ipaddr *ip, const struct sockaddr *sa);

/* A TCP connection to ip:port, bound first to src when src is non-null,
 * within timeout seconds (0: the kernel's). Returns the connected,
 * blocking, close-on-exec socket, or -1 with errno (ETIMEDOUT after the
 * timeout; EADDRNOTAVAIL when src cannot be bound). */
int ipaddr_connect(const ipaddr *ip, unsigned port, const ipaddr *src, int timeout);

#endif
