/* ipaddr: addresses of both families, and a client connect with timeout. */
#include "lib/ipaddr.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int ipaddr_scan(ipaddr *ip, const char *s, size_t n)
{
	char tmp[IPADDR_FMT];
	if (!n || n >= sizeof tmp || memchr(s, 0, n)) return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	memset(ip, 0, sizeof *ip);
	if (inet_pton(AF_INET, tmp, ip->a) == 1) { ip->family = AF_INET; return 0; }
	if (inet_pton(AF_INET6, tmp, ip->a) == 1) { ip->family = AF_INET6; return 0; }
	return -1;
}

size_t ipaddr_fmt(char *out, const ipaddr *ip)
{
	if (!inet_ntop(ip->family == AF_INET6 ? AF_INET6 : AF_INET, ip->a, out, IPADDR_FMT)) {
		out[0] = '?';
		out[1] = 0;
	}
	return strlen(out);
}

size_t ipaddr_len(const ipaddr *ip) { return ip->family == AF_INET6 ? 16 : 4; }

int ipaddr_eq(const ipaddr *x, const ipaddr *y)
{
	return x->family == y->family && !memcmp(x->a, y->a, ipaddr_len(x));
}

socklen_t ipaddr_sockaddr(struct sockaddr_storage *ss, const ipaddr *ip, unsigned port)
{
	memset(ss, 0, sizeof *ss);
	if (ip->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		memcpy(&s6->sin6_addr, ip->a, 16);
		return sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		memcpy(&s4->sin_addr, ip->a, 4);
		return sizeof *s4;
	}
}

int ipaddr_from_sockaddr(ipaddr *ip, const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};
	memset(ip, 0, sizeof *ip);
	if (sa->sa_family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const unsigned char *a = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (!memcmp(a, mapped, 12)) {
			ip->family = AF_INET;
			memcpy(ip->a, a + 12, 4);
		} else {
			ip->family = AF_INET6;
			memcpy(ip->a, a, 16);
		}
		return 0;
	}
	return -1;
}

int ipaddr_connect(const ipaddr *ip, unsigned port, const ipaddr *src, int timeout)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, e, err = 0;
	socklen_t el = sizeof err;

	fd = socket(ip->family == AF_INET6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) return -1;
	if (src) {
		sl = ipaddr_sockaddr(&ss, src, 0);
		if (bind(fd, (struct sockaddr *)&ss, sl) < 0) { e = errno; close(fd); errno = e; return -1; }
	}
	sl = ipaddr_sockaddr(&ss, ip, port);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		struct pollfd p;
		int r;
		if (errno != EINPROGRESS) { e = errno; close(fd); errno = e; return -1; }
		p.fd = fd;
		p.events = POLLOUT;
		do r = poll(&p, 1, timeout > 0 ? timeout * 1000 : -1);
		while (r < 0 && errno == EINTR);
		if (r == 0) { close(fd); errno = ETIMEDOUT; return -1; }
		if (r < 0) { e = errno; close(fd); errno = e; return -1; }
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = errno;
		if (err) { close(fd); errno = err; return -1; }
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) { e = errno; close(fd); errno = e; return -1; }
	return fd;
}
