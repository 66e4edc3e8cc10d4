/* tcp-env: describe the TCP connection on standard input in the
 * environment, then run a program.
 *
 *   tcp-env [-rR] [-ttimeout] program [arg ...]
 *
 * For servers started by inetd (which, unlike tcpserver, says nothing
 * about the connection): tcp-env sets the variables of tcp-environ(5) and
 * execs program with its arguments (looked up in PATH, no shell):
 *   PROTO=TCP, TCPLOCALIP, TCPLOCALPORT, TCPREMOTEIP, TCPREMOTEPORT;
 *   TCPLOCALHOST and TCPREMOTEHOST, the host names found for the two
 *     addresses (unset when there is none);
 *   TCPREMOTEINFO, the user name the remote host's ident server (RFC
 *     1413) gives for the connection (unset when there is none).
 * When PROTO is already TCP the variables are taken as set by whoever
 * started us (tcpserver) and program runs at once.
 *
 * -r (the default) asks the ident server; -R does not; -t gives it at
 * most timeout seconds (default 30) to connect and answer.
 *
 * Host names come from DNS PTR records, asked through src/mail/dns.h:
 * the servers in the instance's control/dnsservers (the instance is the
 * one whose bin/ holds this tcp-env), else resolv.conf's; never the host
 * table or NSS, so every nqmail program sees the same DNS. A PTR name is
 * believed only when it is forward-confirmed, as tcpserver -p does: an A
 * (or AAAA) lookup of the name must give the address back, or the
 * variable stays unset (anyone controlling a reverse zone can claim any
 * name). What a remote ident server or DNS says is outside input: a name
 * with anything but printable ASCII without spaces is dropped, and only
 * the printable prefix of an ident user name is kept, at most 255 bytes,
 * so neither can forge lines in a Received field.
 * IPv6 connections get RFC 5952 addresses; IPv4 ones mapped into IPv6
 * are shown as IPv4. Exit codes: 100 usage, 111 when the connection
 * cannot be examined, control/dnsservers is unreadable or malformed, or
 * program cannot be run. */
#include "mail/dns.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/ipaddr.h"
#include "lib/str.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: tcp-env [-rR] [-ttimeout] program [arg ...]"
#define NAME_MAX_ 255        /* bytes kept of a host or user name */
#define IDENT_LINE 512       /* longest ident reply read */

static void set(const char *name, const char *value)
{
	if (setenv(name, value, 1) < 0) err_nomem();
}

static void unset(const char *name) { unsetenv(name); }

/* Keep the printable, non-blank prefix of s[0..n) (at most NAME_MAX_). */
static size_t tame(char *s, size_t n)
{
	size_t i;
	if (n > NAME_MAX_) n = NAME_MAX_;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127) break;
	s[i] = 0;
	return i;
}

/* var = the forward-confirmed name DNS gives for ip; unset when there
 * is none, when DNS fails (a missing name is no reason to refuse the
 * connection) or when the name is not one a Received field can carry. */
static void hostname(const char *var, const ipaddr *ip)
{
	char name[DNS_NAME_MAX];
	static dns_iplist back;
	buf why = BUF_INIT;
	size_t i, n;

	unset(var);
	if (dns_ptr(ip, name, &why) != DNS_FOUND) goto done;
	n = strlen(name);
	if (tame(name, n) != n) goto done;
	back.n = 0;
	if (dns_ip(name, ip->family, &back, &why) != DNS_FOUND) goto done;
	for (i = 0; i < back.n; i++)
		if (ipaddr_eq(&back.ip[i], ip)) { set(var, name); break; }
done:
	buf_free(&why);
}

static void portvar(const char *var, unsigned port)
{
	char num[24];
	fmt_ulong(num, port);
	set(var, num);
}

static unsigned portof(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* Ask the remote ident server who owns our connection: "rport , lport".
 * The answer "rport , lport : USERID : os : name" gives name. */
static void ident(const ipaddr *local, unsigned lport, const ipaddr *remote, unsigned rport, int timeout)
{
	char q[64], reply[IDENT_LINE + 1];
	size_t n = 0, i;
	int fd;
	char *p, *colon;

	unset("TCPREMOTEINFO");
	fd = ipaddr_connect(remote, 113, local, timeout);
	if (fd < 0) return;
	n = fmt_ulong(q, rport);
	memcpy(q + n, " , ", 3);
	n += 3;
	n += fmt_ulong(q + n, lport);
	memcpy(q + n, "\r\n", 2);
	n += 2;
	if (io_wait(fd, 1, timeout) < 0 || write_all(fd, q, n) < 0) { close(fd); return; }
	n = 0;
	while (n < IDENT_LINE) {
		ssize_t r;
		if (io_wait(fd, 0, timeout) < 0) break;
		r = read(fd, reply + n, IDENT_LINE - n);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		n += (size_t)r;
		if (memchr(reply, '\n', n)) break;
	}
	close(fd);
	reply[n] = 0;
	for (i = 0; i < n; i++) if (reply[i] == '\r' || reply[i] == '\n') { reply[i] = 0; break; }
	/* ports : USERID : os [, charset] : name */
	p = strchr(reply, ':');
	if (!p) return;
	p++;
	while (*p == ' ' || *p == '\t') p++;
	if (strncmp(p, "USERID", 6)) return;
	colon = strchr(p, ':');
	if (!colon || !(colon = strchr(colon + 1, ':'))) return;
	p = colon + 1;
	while (*p == ' ' || *p == '\t') p++;
	if (tame(p, strlen(p))) set("TCPREMOTEINFO", p);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ls, rs;
	socklen_t llen = sizeof ls, rlen = sizeof rs;
	ipaddr lip, rip;
	char text[IPADDR_FMT];
	unsigned long timeout = 30;
	int opt, useident = 1;
	const char *proto;
	buf why = BUF_INIT;

	err_prog = "tcp-env";
	while ((opt = getopt(argc, argv, "+rRt:")) != -1)
		switch (opt) {
		case 'r': useident = 1; break;
		case 'R': useident = 0; break;
		case 't':
			if (str_toul(optarg, &timeout) < 0 || timeout > 3600) err_die(EXIT_PERM, USAGE, (char *)0);
			break;
		default: err_die(EXIT_PERM, USAGE, (char *)0);
		}
	if (optind >= argc) err_die(EXIT_PERM, USAGE, (char *)0);

	proto = getenv("PROTO");
	if (!proto || strcmp(proto, "TCP")) {
		if (getsockname(0, (struct sockaddr *)&ls, &llen) < 0)
			err_dieerr(EXIT_TEMP, "unable to get the local address of standard input", (char *)0);
		if (getpeername(0, (struct sockaddr *)&rs, &rlen) < 0)
			err_dieerr(EXIT_TEMP, "unable to get the remote address of standard input", (char *)0);
		if (ipaddr_from_sockaddr(&lip, (struct sockaddr *)&ls) < 0
		    || ipaddr_from_sockaddr(&rip, (struct sockaddr *)&rs) < 0)
			err_die(EXIT_TEMP, "standard input is not a TCP connection over IPv4 or IPv6", (char *)0);
		set("PROTO", "TCP");
		ipaddr_fmt(text, &lip);
		set("TCPLOCALIP", text);
		portvar("TCPLOCALPORT", portof(&ls));
		ipaddr_fmt(text, &rip);
		set("TCPREMOTEIP", text);
		portvar("TCPREMOTEPORT", portof(&rs));
		if (dns_init(&why) < 0) err_die(EXIT_TEMP, why.s ? why.s : "unable to set up DNS", (char *)0);
		hostname("TCPLOCALHOST", &lip);
		hostname("TCPREMOTEHOST", &rip);
		if (useident) ident(&lip, portof(&ls), &rip, portof(&rs), (int)timeout);
		else unset("TCPREMOTEINFO");
	}
	execvp(argv[optind], argv + optind);
	err_dieerr(EXIT_TEMP, "unable to run ", argv[optind], (char *)0);
}
