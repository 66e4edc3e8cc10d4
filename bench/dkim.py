"""dkim: what DKIM signing and verification cost per message (issue 7),
nqmail against Postfix with OpenDKIM (Debian's opendkim) as its milter.

One RSA-2048 key, made here with openssl, serves both MTAs: nqmail signs
with it as control/dkim/bench.test/bench.key (doc/dkim.5: qmail-remote
signs each message of a domain that has a key directory, just before
sending it), OpenDKIM with the same file (KeyFile). Its public half is a
TXT record at bench._domainkey.bench.test, served with a DMARC record
(_dmarc.bench.test, p=none) by a dnsmasq on 127.0.0.1 that knows only
these names, forwards nothing (--no-resolv, no server) and answers
NXDOMAIN for anything else under .test: no DNS query leaves the machine.
nqmail asks it through control/dnsservers.

OpenDKIM, as verifier, reads the same record from a file (TestPublicKeys)
instead: Debian's opendkim resolves through Unbound, whose defaults
refuse both a server on 127.0.0.1 and names under .test, and its
Nameservers option takes no port; lifting those defaults needs an
Unbound configuration file (ResolverConfiguration), which OpenDKIM 2.11
parses again for every message, and Unbound's parser is not
thread-safe: with 20 sessions some parses fail, the lookup fails and the
message gets 451. (Even with the key file, a
ResolverConfiguration is parsed per message, so none is given.) The file
costs OpenDKIM one small read per message in place of a DNS round trip;
with it, and when signing, OpenDKIM makes no DNS query at all (checked
with strace on `opendkim -t`).

OpenDKIM runs as the bench user in Postfix's cgroup while it is in use,
so its CPU is Postfix's; dnsmasq and the sink run outside both MTAs'
groups (their CPU is nobody's).

  (g) signing: N messages (2000) to sink@remote.test injected by L (4)
      parallel sendmail loops and relayed to the remote part's SMTP sink
      (bench/sink.py), without signing and with: nqmail without
      and with the key directory; Postfix without a milter and with
      OpenDKIM (mode s, relaxed/relaxed, From oversigned, as nqmail)
      in non_smtpd_milters. CPU per message of all the MTA's processes
      each way, and the difference: the cost of signing. Each way runs
      twice, N/2 messages a round, in the order without, with, with,
      without (see ROUNDS), and its rounds are added up. After each round,
      one message more goes to a capture server of this file
      (check.test) and python3-dkim checks its signature (none without).
  (v) verification: N messages signed beforehand by python3-dkim with
      the same key (relaxed/relaxed, 1 KiB), sent by Postfix's
      smtp-source -F (20 sessions, a connection per message; it sends
      the file's bytes as they are, CR LF line ends) with delivery
      paused, so that only the receiving side works: nqmail's
      qmail-smtpd with control/dkimverify 0 and 1 (which also
      evaluates DMARC: it cannot be had apart); Postfix's smtpd without
      a milter and with OpenDKIM (mode v) in smtpd_milters; in rounds
      as (g). CPU per message accepted (smtp-source's taken out), the
      difference: the cost of verifying. After each round delivery is
      resumed, the queue drains into the bench user's Maildir, and every
      delivered copy must carry dkim=pass in the verifying rounds (and
      none without).

The DNS queries dnsmasq answered per message are counted too."""
import base64, os, socket, socketserver, subprocess, threading, time

from common import DOMAIN, SESSIONS, fail, machine_busy, say, wait_for, write
from mtas import free_port, listening
from smtp import Smtp
import remote

SEL = "bench"
CHECK = "check.test"       # routed to this file's capture server
PY = "/usr/bin/python3"    # Debian's python3-dkim is for Debian's python
OPENDKIM = "/usr/sbin/opendkim"
# Each way runs twice, N/2 messages a round, in the order without, with,
# with, without: a drift during the run (the machine's other load, a
# queue growing colder or warmer) then weighs on both ways alike.
ROUNDS = (False, True, True, False)

SIGN = r"""
import sys, dkim
key, src, dst = sys.argv[1:4]
msg = open(src, "rb").read().replace(b"\n", b"\r\n")
sig = dkim.sign(msg, b"%s", b"%s", open(key, "rb").read(),
                canonicalize=(b"relaxed", b"relaxed"))
open(dst, "wb").write((sig + msg).replace(b"\r\n", b"\n"))
""" % (SEL, DOMAIN)

VERIFY = r"""
import sys, dkim
rec = sys.argv[1].encode()
name = b"%s._domainkey.%s"
for path in sys.argv[2:]:
    m = open(path, "rb").read()
    if b"\ndkim-signature:" not in b"\n" + m.lower():
        print("none")
        continue
    ok = dkim.verify(m, dnsfunc=lambda n, timeout=5: rec if n.rstrip(b".") == name else None)
    print("pass" if ok else "fail")
""" % (SEL, DOMAIN)


class Capture(socketserver.ThreadingTCPServer):
    """An SMTP server on loopback that keeps every message it gets (bytes
    as sent, dot-stuffing undone): where the signatures are checked."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.got = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), CaptureSession)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


class CaptureSession(socketserver.StreamRequestHandler):
    timeout = 60

    def handle(self):
        w = self.wfile.write
        w(b"220 capture.test ESMTP\r\n")
        data = None
        while True:
            line = self.rfile.readline(1 << 16)
            if not line:
                return
            if data is not None:
                if line == b".\r\n":
                    with self.server.lock:
                        self.server.got.append(b"".join(data))
                    data = None
                    w(b"250 ok\r\n")
                else:
                    data.append(line[1:] if line.startswith(b".") else line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                w(b"250-capture.test\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                data = []
                w(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                w(b"221 bye\r\n")
                return
            else:
                w(b"250 ok\r\n")


def query_probe(port):
    """True when the dnsmasq on port answers (a query for test. SOA)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x00\x00\x06\x00\x01",
                     ("127.0.0.1", port))
            s.recvfrom(512)
        return True
    except OSError:
        return False


class Dkim:
    def __init__(self, bench):
        self.b = bench
        self.dir = os.path.join(bench.work, "dkim")
        os.mkdir(self.dir, 0o755)
        self.opendkim = None
        self.dns = None
        self.capture = Capture()
        self.key = os.path.join(self.dir, SEL + ".key")
        r = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                            "rsa_keygen_bits:2048", "-out", self.key], capture_output=True)
        pub = subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-outform", "DER"],
                             capture_output=True)
        if r.returncode != 0 or pub.returncode != 0:
            fail("openssl could not make the DKIM key: %s" % (r.stderr + pub.stderr).decode())
        self.record = "v=DKIM1; k=rsa; p=" + base64.b64encode(pub.stdout).decode()
        # OpenDKIM's copy, owned by the bench user it runs as
        self.odkey = os.path.join(self.dir, "opendkim.key")
        with open(self.key, "rb") as f:
            write(self.odkey, f.read().decode(), 0o600)
        os.chown(self.odkey, bench.uid, bench.gid)
        # OpenDKIM's verifier reads the key from a file (see the top)
        self.testkeys = os.path.join(self.dir, "opendkim-keys")
        write(self.testkeys, "%s._domainkey.%s %s\n" % (SEL, DOMAIN, self.record))
        self.start_dns()
        self.signed = self.sign_message()

    # the pieces -------------------------------------------------------------
    def start_dns(self):
        self.dnsport = free_port()
        self.dnslog = os.path.join(self.dir, "dnsmasq.log")
        rec = self.record
        parts = ",".join(rec[i:i + 200] for i in range(0, len(rec), 200))
        args = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
                "--conf-file=/dev/null", "--port=%d" % self.dnsport,
                "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", "--group=root",
                "--cache-size=0", "--pid-file=" + os.path.join(self.dir, "dnsmasq.pid"),
                "--log-queries", "--log-facility=" + self.dnslog, "--local=/test/",
                "--txt-record=%s._domainkey.%s,%s" % (SEL, DOMAIN, parts),
                "--txt-record=_dmarc.%s,v=DMARC1; p=none" % DOMAIN]
        self.dns = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        self.b.running.append(self.dns)
        if not wait_for(lambda: self.dns.poll() is not None or query_probe(self.dnsport), 10) \
           or self.dns.poll() is not None:
            fail("dnsmasq did not start on 127.0.0.1:%d: %s"
                 % (self.dnsport, self.dns.stderr.read().decode() if self.dns.poll() is not None
                    else "no answer"))

    def queries(self):
        """Queries dnsmasq answered so far."""
        try:
            with open(self.dnslog, errors="replace") as f:
                return sum(1 for line in f if "query[" in line)
        except FileNotFoundError:
            return 0

    def sign_message(self):
        """The verification part's message: smtp.py's 1 KiB message with a
        python3-dkim signature in front (LF line ends in the file)."""
        plain = Smtp(self.b).msg
        out = os.path.join(self.dir, "msg-signed")
        r = subprocess.run([PY, "-c", SIGN, self.key, plain, out], capture_output=True, text=True)
        if r.returncode != 0:
            fail("python3-dkim could not sign the message (Debian: python3-dkim): " + r.stderr)
        return out

    def verify(self, msgs):
        """python3-dkim's verdicts ("pass", "fail", "none") on messages."""
        paths = []
        for i, m in enumerate(msgs):
            p = os.path.join(self.dir, "check-%d" % i)
            with open(p, "wb") as f:
                f.write(m)
            paths.append(p)
        r = subprocess.run([PY, "-c", VERIFY, self.record] + paths, capture_output=True, text=True)
        for p in paths:
            os.unlink(p)
        if r.returncode != 0:
            return ["error: " + r.stderr.strip()[-300:]] * len(msgs)
        return r.stdout.split()

    def start_opendkim(self, mode):
        """OpenDKIM as the bench user in Postfix's cgroup, listening on a
        loopback port; mode "s" signs bench.test's mail from 127.0.0.1,
        mode "v" verifies (no host is internal then, so 127.0.0.1's mail
        is verified). Returns the milter address for Postfix."""
        port = free_port()
        conf = os.path.join(self.dir, "opendkim-%s.conf" % mode)
        lines = ["Syslog no", "Background no", "Mode " + mode, "Socket inet:%d@127.0.0.1" % port,
                 "PidFile " + os.path.join(self.dir, "opendkim.pid"),
                 "Canonicalization relaxed/relaxed",
                 # the work directory is under /var/tmp, which anyone may write
                 "RequireSafeKeys false"]
        if mode == "s":
            lines += ["Domain " + DOMAIN, "Selector " + SEL, "KeyFile " + self.odkey,
                      "OversignHeaders From", "InternalHosts 127.0.0.1"]
        else:
            lines += ["InternalHosts 192.0.2.1", "TestPublicKeys " + self.testkeys]
        write(conf, "\n".join(lines) + "\n")
        pre = self.b.acct.preexec("postfix")
        uid, gid = self.b.uid, self.b.gid

        def drop():
            pre()
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        self.odlog = open(os.path.join(self.dir, "opendkim.log"), "ab")
        self.opendkim = subprocess.Popen([OPENDKIM, "-f", "-x", conf], stdin=subprocess.DEVNULL,
                                         stdout=self.odlog, stderr=self.odlog, preexec_fn=drop)
        if not wait_for(lambda: listening(port) or self.opendkim.poll() is not None, 10) \
           or self.opendkim.poll() is not None:
            fail("opendkim did not start; see " + os.path.join(self.dir, "opendkim.log"))
        return "inet:127.0.0.1:%d" % port

    def stop_opendkim(self):
        if self.opendkim is None:
            return
        if self.opendkim.poll() is None:
            self.opendkim.terminate()
            try:
                self.opendkim.wait(10)
            except subprocess.TimeoutExpired:
                self.opendkim.kill()
                self.opendkim.wait()
        self.odlog.close()
        self.opendkim = None

    def nq_key(self, mta, on):
        """nqmail signs bench.test's mail when control/dkim/bench.test/
        holds a key (doc/dkim.5), readable by qmailr alone."""
        d = os.path.join(mta.q, "control", "dkim", DOMAIN)
        k = os.path.join(d, SEL + ".key")
        if not on:
            if os.path.exists(k):
                os.unlink(k)
            return
        os.makedirs(d, 0o755, exist_ok=True)
        os.chmod(os.path.dirname(d), 0o755)
        os.chmod(d, 0o755)
        with open(self.key) as f:
            write(k, f.read(), 0o400)
        uid, gid = mta.ids("qmailr")
        os.chown(k, int(uid), int(gid))

    # the workloads -------------------------------------------------------------
    def run(self, mta):
        b = self.b
        if mta.name == "nqmail":
            # every DNS question of the instance to the loopback dnsmasq
            write(os.path.join(mta.q, "control", "dnsservers"), "127.0.0.1:%d\n" % self.dnsport)
        self.signing(mta)
        self.verification(mta)
        b.check_user()

    @staticmethod
    def add(R, k, **vals):
        """Add one round's figures to way k's sums (other_pct: the largest)."""
        for name, v in vals.items():
            if name == "other_pct":
                R[k + "_other_pct"] = max(R.get(k + "_other_pct", 0.0), v)
            else:
                R[k + "_" + name] = R.get(k + "_" + name, 0) + v

    @staticmethod
    def finish(R, k):
        n = R.get(k + "_n", 0)
        if n:
            R[k + "_cpu_ms"] = R[k + "_cpu"] * 1000 / n
            R[k + "_dns"] = R[k + "_q"] / n

    def signing(self, mta):
        b, a = self.b, self.b.args
        R = b.results.setdefault(mta.name, {})
        if b.remote is None:
            b.remote = remote.Remote(b)
        rem = b.remote
        rem.configure(mta)
        route = "[127.0.0.1]:%d" % self.capture.port
        if mta.name == "nqmail":
            with open(os.path.join(mta.q, "control", "smtproutes"), "a") as f:
                f.write("%s:%s\n" % (CHECK, route))
        else:
            with open(os.path.join(mta.conf, "transport"), "a") as f:
                f.write("%s smtp:%s\n" % (CHECK, route))
        msg = b.message("msg-g", "sink@" + remote.RDOMAIN)
        rcpt = ["sink@" + remote.RDOMAIN]
        per = a.dkim_messages // 2 // a.loops
        n = per * a.loops
        for on in ROUNDS:
            k = "g_on" if on else "g_off"
            what = "with DKIM signing" if on else "without signing"
            if mta.name == "nqmail":
                self.nq_key(mta, on)
            elif on:
                mta.postconf("-e", "non_smtpd_milters=" + self.start_opendkim("s"))
            else:
                mta.postconf("-X", "non_smtpd_milters")
            mta.start()
            s0 = remote.ask(rem.port)
            b.inject(mta, msg, rcpt, [rem.empty], 0, 1, 20)          # warm-up
            rem.wait_sink(1, s0[1] + 20, 60)
            b.settle(mta)
            s0, k0, q0 = remote.ask(rem.port), rem.sink_cpu(), self.queries()
            c0, m0, t0 = b.cpu(mta), machine_busy(), time.time()
            say("%s: (g) %d messages relayed to the sink %s, %d sendmail loops"
                % (mta.name, n, what, a.loops))
            b.inject(mta, msg, rcpt, [rem.empty], 0, a.loops, per, timeout=a.timeout)
            s1 = rem.wait_sink(1, s0[1] + n, a.timeout)
            b.settle(mta)
            c1, m1, t1 = b.cpu(mta), machine_busy(), time.time()
            got = s1[1] - s0[1]
            if got != n:
                b.failures.append("%s: (g) %s: the sink got %d of %d messages" % (mta.name, what, got, n))
            sink = rem.sink_cpu() - k0
            self.add(R, k, n=n, cpu=c1 - c0, q=self.queries() - q0,
                     s=s1[3] - t0 if got == n else 1e9,
                     other_pct=max(0.0, (m1 - m0) - (c1 - c0) - sink) * 100
                     / ((t1 - t0) * os.cpu_count()))
            say("%s: (g) %s: %d at the sink in %.2fs, %.2f ms CPU per message"
                % (mta.name, what, got, s1[3] - t0, (c1 - c0) * 1000 / n))
            # one message more to the capture server: is it signed, and right?
            before = len(self.capture.got)
            b.inject(mta, msg, ["dkim@" + CHECK], [rem.empty], 0, 1, 1)
            wait_for(lambda: len(self.capture.got) > before, 60)
            b.settle(mta)
            verdict = self.verify(self.capture.got[before:before + 1]) if \
                len(self.capture.got) > before else ["missing"]
            want = "pass" if on else "none"
            check = verdict[0] if verdict else "?"
            if check != want:
                b.failures.append("%s: (g) %s: python3-dkim says %r of the message at the capture "
                                  "server, not %r" % (mta.name, what, check, want))
            if mta.name == "postfix":
                self.stop_opendkim()
            mta.stop()
        if mta.name == "nqmail":
            self.nq_key(mta, False)
        else:
            mta.postconf("-X", "non_smtpd_milters")
        for k in ("g_off", "g_on"):
            self.finish(R, k)
        R["g_cost_ms"] = R["g_on_cpu_ms"] - R["g_off_cpu_ms"]

    def verification(self, mta):
        b, a = self.b, self.b.args
        R = b.results.setdefault(mta.name, {})
        smtp = Smtp(b)
        smtp.msg = self.signed
        n = a.dkim_messages // 2
        warm = SESSIONS
        for on in ROUNDS:
            k = "v_on" if on else "v_off"
            what = "verifying DKIM" if on else "without verification"
            new = b.fresh_maildir(b.home)
            if mta.name == "nqmail":
                write(os.path.join(mta.q, "control", "dkimverify"), "1\n" if on else "0\n")
            elif on:
                mta.postconf("-e", "smtpd_milters=" + self.start_opendkim("v"))
            else:
                mta.postconf("-X", "smtpd_milters")
            mta.start(deliver=False, smtp=True)
            smtp.send(mta, warm, SESSIONS)
            say("%s: (v) %d signed messages over SMTP, %d sessions, delivery paused, %s"
                % (mta.name, n, SESSIONS, what))
            q0, f0 = self.queries(), len(b.failures)
            c0, m0, t0 = smtp.cpu(mta), machine_busy(), time.time()
            r = smtp.send(mta, n, SESSIONS)
            m1, t1 = machine_busy(), time.time()
            cpu, total = smtp.cost(mta, c0, r)
            self.add(R, k, n=n, cpu=cpu, q=self.queries() - q0, s=r.get("inject_s", 1e9),
                     other_pct=max(0.0, (m1 - m0) - total) * 100 / ((t1 - t0) * os.cpu_count()))
            say("%s: (v) %s: accepted %d in %.2fs, %.2f ms CPU per message"
                % (mta.name, what, n, r.get("inject_s", -1), cpu * 1000 / n))
            if mta.name == "postfix":
                self.stop_opendkim()     # what is queued has its result already
            # after a refusal smtp-source stops: what it sent is unknown
            smtp.drain(mta, [new], n + warm if len(b.failures) == f0 else 1)
            b.settle(mta)
            count, passed = len(os.listdir(new)), self.passes(new)
            self.add(R, k, count=count, passed=passed)
            if count != n + warm:
                b.failures.append("%s: (v) %s: %d messages in the Maildir, %d sent"
                                  % (mta.name, what, count, n + warm))
            if passed != (count if on else 0):
                b.failures.append("%s: (v) %s: %d of %d delivered copies say dkim=pass"
                                  % (mta.name, what, passed, count))
            mta.stop()
        if mta.name == "postfix":
            mta.postconf("-X", "smtpd_milters")
        else:
            os.unlink(os.path.join(mta.q, "control", "dkimverify"))
        for k in ("v_off", "v_on"):
            self.finish(R, k)
        R["v_cost_ms"] = R["v_on_cpu_ms"] - R["v_off_cpu_ms"]

    @staticmethod
    def passes(new):
        """Copies in the directory whose header says dkim=pass (nqmail's
        and OpenDKIM's Authentication-Results fields both do)."""
        n = 0
        for name in os.listdir(new):
            with open(os.path.join(new, name), "rb") as f:
                head = f.read(65536).split(b"\n\n", 1)[0]
            if b"dkim=pass" in head:
                n += 1
        return n

    def stop(self):
        self.stop_opendkim()
        if self.dns is not None:
            if self.dns.poll() is None:
                self.dns.terminate()
                try:
                    self.dns.wait(10)
                except subprocess.TimeoutExpired:
                    self.dns.kill()
                    self.dns.wait()
            if self.dns in self.b.running:
                self.b.running.remove(self.dns)
            self.dns = None
        self.capture.shutdown()
        self.capture.server_close()


def rows(row, a):
    """The DKIM part's rows of the bench's table: each way's two rounds
    together."""
    ng = a.dkim_messages // 2 // a.loops * a.loops * 2
    nv = a.dkim_messages // 2 * 2

    def secs(key):
        return lambda r: r[key] if r.get(key, 1e9) < 1e8 else None   # 1e9: a round fell short
    row("(g) %d msgs relayed to the sink, %d loops, no signing: CPU per message [ms]"
        % (ng, a.loops), "g_off_cpu_ms", "%.2f")
    row("(g) the same, signing with DKIM (RSA-2048): CPU per message [ms]", "g_on_cpu_ms", "%.2f")
    row("(g) cost of signing: the difference, per message [ms]", "g_cost_ms", "%.2f")
    row("(g) no signing: until all at the sink, both rounds [s]", secs("g_off_s"), "%.2f")
    row("(g) signing: until all at the sink, both rounds [s]", secs("g_on_s"), "%.2f")
    row("(g) signing: DNS queries per message at the loopback dnsmasq", "g_on_dns", "%.2f", False)
    row("other CPU load on the machine during (g), signing, at most [%]", "g_on_other_pct", "%.0f",
        False)
    row("(v) %d signed msgs over SMTP, %d sessions, no verification: CPU per message [ms]"
        % (nv, SESSIONS), "v_off_cpu_ms", "%.2f")
    row("(v) the same, verifying DKIM: CPU per message [ms]", "v_on_cpu_ms", "%.2f")
    row("(v) cost of verifying: the difference, per message [ms]", "v_cost_ms", "%.2f")
    row("(v) no verification: all accepted, both rounds [s]", secs("v_off_s"), "%.2f")
    row("(v) verifying: all accepted, both rounds [s]", secs("v_on_s"), "%.2f")
    row("(v) verifying: DNS queries per message at the loopback dnsmasq", "v_on_dns", "%.2f", False)
    row("(v) verifying: delivered copies with dkim=pass", "v_on_passed", "%d", False)
    row("other CPU load on the machine during (v), verifying, at most [%]", "v_on_other_pct",
        "%.0f", False)
