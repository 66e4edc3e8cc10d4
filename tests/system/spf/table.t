#!/usr/bin/env python3
# SPF at MAIL FROM: a table of records served by dnsmasq (ip4, ip6, a, mx,
# include, redirect, macros, exists, the void-lookup and DNS-lookup
# limits, syntax errors, two records, none, a DNS failure), each checked
# through qmail-smtpd (the spf= result in the Authentication-Results field
# of the queued message) against the result we expect and against
# python3-spf's result for the same record and client address.
# smoke
import os, sys
try:
    import spf  # noqa: F401
    import dns.resolver  # noqa: F401
except ImportError:
    # Debian's python3-spf is for Debian's python3, which may not be the
    # first python3 on PATH
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spflib import Capture, session, header_fields, spf_of  # noqa: E402
from nqtest import Tap, Instance  # noqa: E402
from remotelib import Dns  # noqa: E402

LIM = " ".join("a:h%d.lim.test" % i for i in range(1, 12))
TEN = " ".join("a:h%d.lim.test" % i for i in range(1, 11))
RECORDS = [
    ("pass.test", "v=spf1 ip4:192.0.2.0/24 -all"),
    ("ip6.test", "v=spf1 ip6:2001:db8::/32 ~all"),
    ("a.test", "v=spf1 a -all"),
    ("mx.test", "v=spf1 mx ?all"),
    ("inc.test", "v=spf1 include:pass.test -all"),
    ("redir.test", "v=spf1 redirect=pass.test"),
    ("macro.test", "v=spf1 exists:%{i}._ip.macro.test -all"),
    ("lp.test", "v=spf1 exists:%{l}.users.lp.test -all"),
    ("void.test", "v=spf1 a:nx1.void.test a:nx2.void.test a:nx3.void.test ip4:192.0.2.50 -all"),
    ("void2.test", "v=spf1 a:nx1.void.test a:nx2.void.test ip4:192.0.2.50 -all"),
    ("lim.test", "v=spf1 " + LIM + " -all"),
    ("ten.test", "v=spf1 " + TEN + " -all"),
    ("perm.test", "v=spf1 foo:bar -all"),
    ("two.test", "v=spf1 -all"),
    ("two.test", "v=spf1 +all"),
    ("noise.test", "some other text"),
    ("broken.test", "v=spf1 -all"),
    ("deep.test", "v=spf1 a:h.broken.test -all"),
]
HOSTS = [("a.test", "192.0.2.20"), ("mail.mx.test", "192.0.2.30"),
         ("192.0.2.40._ip.macro.test", "127.0.0.2"), ("joe.users.lp.test", "127.0.0.2")] + \
        [("h%d.lim.test" % i, "10.0.0.%d" % i) for i in range(1, 12)]

# (client ip, helo, sender, expected result)
CASES = [
    ("192.0.2.10", "c.test", "u@pass.test", "pass"),
    ("198.51.100.1", "c.test", "u@pass.test", "fail"),
    ("2001:db8::5", "c.test", "u@ip6.test", "pass"),
    ("192.0.2.10", "c.test", "u@ip6.test", "softfail"),
    ("192.0.2.20", "c.test", "u@a.test", "pass"),
    ("192.0.2.21", "c.test", "u@a.test", "fail"),
    ("192.0.2.30", "c.test", "u@mx.test", "pass"),
    ("192.0.2.31", "c.test", "u@mx.test", "neutral"),
    ("192.0.2.10", "c.test", "u@inc.test", "pass"),
    ("198.51.100.1", "c.test", "u@inc.test", "fail"),
    ("192.0.2.10", "c.test", "u@redir.test", "pass"),
    ("198.51.100.1", "c.test", "u@redir.test", "fail"),
    ("192.0.2.40", "c.test", "u@macro.test", "pass"),
    ("192.0.2.41", "c.test", "u@macro.test", "fail"),
    ("192.0.2.9", "c.test", "joe@lp.test", "pass"),
    ("192.0.2.9", "c.test", "bob@lp.test", "fail"),
    ("192.0.2.50", "c.test", "u@void.test", "permerror"),
    ("192.0.2.50", "c.test", "u@void2.test", "pass"),
    ("192.0.2.99", "c.test", "u@lim.test", "permerror"),
    ("192.0.2.99", "c.test", "u@ten.test", "fail"),
    ("192.0.2.10", "c.test", "u@perm.test", "permerror"),
    ("192.0.2.10", "c.test", "u@two.test", "permerror"),
    ("192.0.2.10", "c.test", "u@noise.test", "none"),
    ("192.0.2.10", "c.test", "u@nothere.test", "none"),
    ("192.0.2.10", "c.test", "u@sub.broken.test", "temperror"),
    ("192.0.2.10", "c.test", "u@deep.test", "temperror"),
    # the null sender: the HELO name is the identity
    ("192.0.2.10", "pass.test", "", "pass"),
    ("198.51.100.1", "pass.test", "", "fail"),
]

t = Tap()
d = Dns(["txt-record=%s,%s" % r for r in RECORDS] +
        ["host-record=%s,%s" % h for h in HOSTS] +
        ["mx-host=mx.test,mail.mx.test,10"],
        servfail=("broken.test",))
cap = Capture()
q = None
try:
    d.start()
    q = Instance(t)
    q.control("dnsservers", d.server_line())

    import spf
    import dns.resolver
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = d.port
    res.lifetime = 5
    dns.resolver.default_resolver = res

    for ip, helo, sender, want in CASES:
        name = "%s from %s (HELO %s)" % (sender or "<>", ip, helo)
        lines, msg = session(q, cap, ip, helo, sender)
        if msg is None:
            t.ok(False, name + ": a message was queued", "\n".join(lines))
            continue
        ours = header_fields(msg)
        got = spf_of(ours[0]) if ours else None
        t.eq(got, want, name + ": qmail-smtpd says " + want, ours)
        theirs = spf.check2(i=ip, s=sender, h=helo)[0]
        t.eq(got, theirs, name + ": python3-spf agrees", theirs)
        if sender == "":
            t.ok(ours and "smtp.helo=" + helo in ours[0], name + ": reported as smtp.helo", ours)
        elif got == "pass":
            t.ok(ours and "smtp.mailfrom=" + sender in ours[0], name + ": reported as smtp.mailfrom", ours)
    t.ok("query[TXT] pass.test" in d.log(), "the queries reached our dnsmasq", d.log()[-300:])
finally:
    if q:
        q.stop() if q.proc else None
    d.stop()
t.done()
