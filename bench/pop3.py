"""pop3: reading mail over POP3 (issue 6), nqmail against Dovecot.

nqmail's side: tcpserver running qmail-popup, checkpassword and
qmail-pop3d on 127.0.0.1 (POP3PLAINLOOPBACK=1, so USER/PASS work without
TLS on loopback), for a virtual user made with qmail-vuser whose account
is the bench user and whose home is WORK/pop. Dovecot's side (Debian's
dovecot-pop3d, in the Postfix column of the table): a private instance,
its own configuration file, base_dir, state and log in WORK/dovecot, a
passwd-file user with the same account and home, POP3 only on 127.0.0.1;
/etc/dovecot is never read and a system Dovecot, if any, is left alone.
Each server runs in its own cgroup (nqmail's; "dovecot"), so the CPU is
the server's alone; the Python clients are not counted.

  (p) 10 000 messages (--pop3-messages) in a fresh Maildir/new; after one
      warm-up session (login, STAT, QUIT: the first session moves new/ to
      cur/, Dovecot builds its index), 10 parallel clients (poplib) each
      log in and RETR their tenth of the messages; timed from the first
      connection until the last client has QUIT.
  (l) a fresh 20 000-message Maildir: one client logs in and LISTs, cold
      (the first session) and again warm."""
import multiprocessing, os, poplib, pwd, shutil, subprocess, time

from common import DOMAIN, USER, fail, say, wait_for, write
from mtas import free_port, listening

LOGIN = "pop@" + DOMAIN
PASSWORD = "bench pop3 secret"
CLIENTS = 10


def retr_share(args):
    """One client: log in, RETR messages lo..hi-1 (1-based), QUIT.
    Returns (messages whole, bytes, user+sys CPU of this client)."""
    port, lo, hi = args
    c0 = time.process_time()
    p = poplib.POP3("127.0.0.1", port, timeout=120)
    p.user(LOGIN)
    p.pass_(PASSWORD)
    ok = nbytes = 0
    for i in range(lo, hi):
        _, lines, octets = p.retr(i)
        nbytes += octets
        if lines and lines[-1] == b"":     # qmail-pop3d ends each message with an empty line, as qmail's did
            lines = lines[:-1]
        if lines and lines[-1].startswith(b"line 19 "):
            ok += 1
        elif os.environ.get("NQBENCH_DEBUG"):
            print(repr(lines[-3:]), octets, flush=True)
    p.quit()
    return ok, nbytes, time.process_time() - c0


def login_list(port):
    """Log in and LIST: (seconds, messages listed)."""
    t0 = time.time()
    p = poplib.POP3("127.0.0.1", port, timeout=300)
    p.user(LOGIN)
    p.pass_(PASSWORD)
    _, lst, _ = p.list()
    p.quit()
    return time.time() - t0, len(lst)


class Pop3:
    def __init__(self, bench):
        self.b = bench
        self.home = os.path.join(bench.work, "pop")
        pw = pwd.getpwnam(USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        os.makedirs(self.home, exist_ok=True)
        os.chown(self.home, self.uid, self.gid)
        with open(bench.message("msg-pop", LOGIN), "rb") as f:
            self.msg = f.read()
        self.server = None
        self.group = None

    def fill(self, n):
        """A fresh Maildir in the pop home with n messages in new/."""
        md = os.path.join(self.home, "Maildir")
        shutil.rmtree(md, ignore_errors=True)   # with Dovecot's index and uidlist in it
        for sub in ("", "tmp", "new", "cur"):
            os.mkdir(os.path.join(md, sub), 0o700)
            os.chown(os.path.join(md, sub), self.uid, self.gid)
        new = os.path.join(md, "new")
        for i in range(n):
            p = os.path.join(new, "1767225600.M%dP1.bench" % i)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, self.msg)
            os.close(fd)
            os.chown(p, self.uid, self.gid)

    # the servers ----------------------------------------------------------
    def start_nqmail(self, mta):
        r = subprocess.run([mta.bin("qmail-vuser"), "add", LOGIN, USER, self.home],
                           input=PASSWORD + "\n", capture_output=True, text=True)
        if r.returncode != 0:
            fail("qmail-vuser add: " + r.stderr)
        self.port = free_port()
        self.log = os.path.join(mta.dir, "pop3.log")
        logf = open(self.log, "ab")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "POP3PLAINLOOPBACK": "1"}
        self.server = subprocess.Popen(
            ["tcpserver", "-R", "-H", "-l", DOMAIN, "-c", str(4 * CLIENTS), "-b", "50",
             "127.0.0.1", str(self.port), mta.bin("qmail-popup"), DOMAIN,
             mta.bin("checkpassword"), mta.bin("qmail-pop3d"), "Maildir"],
            cwd=mta.q, env=env, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
            preexec_fn=self.b.acct.preexec("nqmail"))
        logf.close()
        self.group = "nqmail"
        if not wait_for(lambda: listening(self.port) or self.server.poll() is not None, 10) \
           or self.server.poll() is not None:
            fail("tcpserver (qmail-popup) did not start; see " + self.log)

    def start_dovecot(self):
        d = os.path.join(self.b.work, "dovecot")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        self.port = free_port()
        self.log = os.path.join(d, "log")
        passwd = os.path.join(d, "passwd")
        write(passwd, "%s:{PLAIN}%s:%d:%d::%s::\n" % (LOGIN, PASSWORD, self.uid, self.gid, self.home),
              0o640)
        os.chown(passwd, 0, pwd.getpwnam("dovecot").pw_gid)   # Dovecot's auth process reads it
        self.conf = os.path.join(d, "dovecot.conf")
        write(self.conf, "\n".join([
            "# written by nqmail's bench/run: a private POP3 server on loopback",
            "protocols = pop3",
            "listen = 127.0.0.1",
            "base_dir = " + os.path.join(d, "run"),
            "state_dir = " + os.path.join(d, "state"),
            "log_path = " + self.log,
            "ssl = no",
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain",
            "mail_location = maildir:~/Maildir",
            "first_valid_uid = 1",
            "default_login_user = dovenull",
            "default_internal_user = dovecot",
            "pop3_uidl_format = %08Xu%08Xv",
            "passdb {", "  driver = passwd-file", "  args = scheme=PLAIN " + passwd, "}",
            "userdb {", "  driver = passwd-file", "  args = " + passwd, "}",
            "service pop3-login {",
            "  inet_listener pop3 {", "    address = 127.0.0.1", "    port = %d" % self.port, "  }",
            "  inet_listener pop3s {", "    port = 0", "  }",
            "}",
            "service stats {", "  inet_listener http {", "    port = 0", "  }", "}",
            ""]))
        logf = open(os.path.join(d, "stderr"), "ab")
        self.server = subprocess.Popen(["dovecot", "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
                                       stdout=logf, stderr=logf,
                                       preexec_fn=self.b.acct.preexec("dovecot"))
        logf.close()
        self.group = "dovecot"
        if not wait_for(lambda: listening(self.port) or self.server.poll() is not None, 15) \
           or self.server.poll() is not None:
            fail("dovecot did not start; see %s and %s/stderr" % (self.log, d))

    def stop(self):
        if not self.server:
            return
        self.server.terminate()
        try:
            self.server.wait(15)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()
        if not wait_for(lambda: not self.b.acct.pids(self.group), 15):
            self.b.acct.kill(self.group)
        self.server = None

    def cpu(self):
        c = self.b.acct.cpu(self.group)
        return c[0] + c[1]

    # the workloads -----------------------------------------------------------
    def run(self, mta):
        b, a = self.b, self.b.args
        R = b.results.setdefault(mta.name, {})
        name = "qmail-pop3d" if mta.name == "nqmail" else "Dovecot"
        n, nl = a.pop3_messages, 2 * a.pop3_messages
        self.fill(n)
        if mta.name == "nqmail":
            self.start_nqmail(mta)
        else:
            self.start_dovecot()
        try:
            # warm-up: the first session moves new/ to cur/ (and Dovecot indexes)
            t, cnt = login_list(self.port)
            R["p_first_s"] = t
            if cnt != n:
                b.failures.append("%s: the first session listed %d of %d messages" % (name, cnt, n))
            shares = [(self.port, 1 + k * n // CLIENTS, 1 + (k + 1) * n // CLIENTS)
                      for k in range(CLIENTS)]
            say("%s: (p) RETR of %d messages by %d parallel clients" % (name, n, CLIENTS))
            c0, t0 = self.cpu(), time.time()
            with multiprocessing.Pool(CLIENTS) as pool:
                res = pool.map(retr_share, shares)
            t1, c1 = time.time(), self.cpu()
            R["p_s"] = t1 - t0
            R["p_ok"] = sum(r[0] for r in res)
            R["p_bytes"] = sum(r[1] for r in res)
            R["p_cpu_ms"] = (c1 - c0) * 1000 / n
            R["p_client_cpu_ms"] = sum(r[2] for r in res) * 1000 / n
            if R["p_ok"] != n:
                b.failures.append("%s: (p) %d of %d messages retrieved whole" % (name, R["p_ok"], n))
            say("%s: (p) %d messages in %.2fs" % (name, R["p_ok"], R["p_s"]))

            # (l) login and LIST of a large Maildir, cold then warm
            self.fill(nl)
            say("%s: (l) login and LIST of %d messages" % (name, nl))
            c0 = self.cpu()
            t, cnt = login_list(self.port)
            R["l_cold_cpu_ms"] = (self.cpu() - c0) * 1000
            R["l_cold_s"] = t
            c0 = self.cpu()
            t2, cnt2 = login_list(self.port)
            R["l_warm_cpu_ms"] = (self.cpu() - c0) * 1000
            R["l_warm_s"] = t2
            R["l_count"] = cnt2
            if cnt != nl or cnt2 != nl:
                b.failures.append("%s: (l) listed %d and %d of %d" % (name, cnt, cnt2, nl))
            say("%s: (l) %.2fs cold, %.2fs warm" % (name, t, t2))
        finally:
            self.stop()
        for l in self.problems()[:3]:
            b.notes.append("%s logged: %s" % (name, l))

    def problems(self):
        try:
            with open(self.log, errors="replace") as f:
                return [l.rstrip() for l in f if "rror" in l or "atal" in l or "failed" in l]
        except FileNotFoundError:
            return []


def rows(row, rate, a):
    n, nl = a.pop3_messages, 2 * a.pop3_messages
    row("(p) POP3, Postfix column: Dovecot. %d msgs RETR by %d clients [s]" % (n, CLIENTS),
        "p_s", "%.2f")
    row("(p) messages retrieved per second (higher is better)", rate("p_s", n), "%.0f")
    row("(p) messages retrieved whole", "p_ok", "%d", False)
    row("(p) server CPU per message retrieved [ms]", "p_cpu_ms", "%.3f")
    row("(p) the Python clients' CPU per message (not the server's) [ms]", "p_client_cpu_ms", "%.3f")
    row("(p) first session (login, LIST) of the %d [s]" % n, "p_first_s", "%.2f")
    row("(l) login + LIST of %d msgs, first session [s]" % nl, "l_cold_s", "%.2f")
    row("(l)   its server CPU [ms]", "l_cold_cpu_ms", "%.0f")
    row("(l) login + LIST of %d msgs, second session [s]" % nl, "l_warm_s", "%.2f")
    row("(l)   its server CPU [ms]", "l_warm_cpu_ms", "%.0f")
