"""mtas: the two MTAs under test, each set up in the work directory.

Postfix (Debian's package) gets its own configuration and queue directory
(postfix -c DIR, sendmail -C DIR): loopback only, no DNS, no remote
delivery, local(8) to the bench user's ~/Maildir/ for workload (a) and a
virtual mailbox map to BASE/rN/Maildir/ for workload (b); its smtpd(8)
listens on 127.0.0.1:PORT (the SMTP workloads). /etc/postfix is never
touched.

nqmail gets a temporary instance (scripts/setup.sh, config-fast) started
with qmail-start ./Maildir/; workload (b)'s recipients are users/assign
entries whose homes are BASE/rN. For the SMTP workloads tcpserver runs
DIR/bin/qmail-smtpd as qmaild on 127.0.0.1:PORT (not qmailctl: the bench
wants exactly these options).

Both can be started with delivery paused (start(deliver=False)), so that
SMTP acceptance is measured alone, and resumed (resume()) to time the
queue draining."""
import os, pwd, re, signal, socket, subprocess

from common import DOMAIN, VDOMAIN, USER, SENDER, SESSIONS, TOP, fail, say, sh, wait_for, \
    files_under, write


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class MTA:
    """What both MTAs have in common: a work directory, the bench user, a
    sendmail command line, delivery checks."""
    name = "?"
    server = "?"           # the name (comm) of the process serving one SMTP connection

    def __init__(self, bench):
        self.b = bench
        self.dir = os.path.join(bench.work, self.name)
        self.port = free_port()
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o755)

    def start(self, deliver=True, smtp=False):
        """Start the MTA; without deliver its queue only fills (no
        scheduler runs); with smtp it also accepts SMTP on self.port."""
        raise NotImplementedError

    def resume(self):
        """Start delivering what start(deliver=False) let pile up."""
        raise NotImplementedError

    def sendmail(self, rcpts):
        raise NotImplementedError

    def queue_empty(self):
        raise NotImplementedError

    def problems(self):
        """Log lines that say something went wrong (bounces, deferrals)."""
        return []


class Postfix(MTA):
    name = "postfix"
    SERVICES = """\
# service  type  private unpriv  chroot  wakeup  maxproc command
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
local      unix  -       n       n       -       -       local
virtual    unix  -       n       n       -       -       virtual
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
"""
    # Only while delivery is paused: no queue manager, and no 1-second wait
    # per message for the flow-control token that only the queue manager
    # hands out (in_flow_delay), which would measure the pause, not smtpd.
    PAUSED = ["master_service_disable=qmgr/unix", "in_flow_delay=0"]
    server = "smtpd"

    def __init__(self, bench):
        super().__init__(bench)
        self.conf = os.path.join(self.dir, "etc")
        self.spool = os.path.join(self.dir, "spool")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "maillog")
        for d in (self.conf, self.spool, self.data):
            os.mkdir(d)
            os.chmod(d, 0o755)
        pw = pwd.getpwnam("postfix")
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        b = self.b
        write(os.path.join(self.conf, "main.cf"), "\n".join([
            "# written by nqmail's bench/run; its own queue, loopback only, no DNS",
            "compatibility_level = 3.6",
            "queue_directory = " + self.spool,
            "data_directory = " + self.data,
            "mail_owner = postfix",
            "setgid_group = postdrop",
            "myhostname = " + DOMAIN,
            "mydomain = " + DOMAIN,
            "myorigin = $mydomain",
            "mydestination = " + DOMAIN,
            "inet_interfaces = loopback-only",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            "relayhost =",
            "default_transport = error:bench: no remote delivery",
            "smtp_dns_support_level = disabled",
            "lmtp_dns_support_level = disabled",
            "alias_maps =",
            "alias_database =",
            "home_mailbox = Maildir/",
            "mailbox_command =",
            "biff = no",
            "append_dot_mydomain = no",
            "virtual_mailbox_domains = " + VDOMAIN,
            "virtual_mailbox_base = " + b.vbase,
            "virtual_mailbox_maps = texthash:" + os.path.join(self.conf, "vmailbox"),
            "virtual_uid_maps = static:%d" % b.uid,
            "virtual_gid_maps = static:%d" % b.gid,
            "virtual_minimum_uid = %d" % min(b.uid, 100),
            "maillog_file = " + self.log,
            "maillog_file_prefixes = " + self.dir,
            # SMTP: recipients checked at RCPT time against the password
            # file (Postfix's default without aliases; nqmail checks too),
            # no reverse lookup of the client (tcpserver -H does none)
            "local_recipient_maps = proxy:unix:passwd.byname",
            "smtpd_peername_lookup = no",
            ""]))
        # one smtpd per connection, at most SESSIONS, like tcpserver -c
        write(os.path.join(self.conf, "master.cf"), self.SERVICES +
              "127.0.0.1:%d inet n       -       n       -       %d      smtpd\n"
              % (self.port, SESSIONS))
        write(os.path.join(self.conf, "vmailbox"), "".join(
            "r%d@%s r%d/Maildir/\n" % (i, VDOMAIN, i) for i in range(b.args.recipients)))

    def postconf(self, *args):
        sh(["postconf", "-c", self.conf] + list(args))

    def start(self, deliver=True, smtp=False):
        # the smtpd service is always in master.cf; idle, it costs nothing
        if deliver:
            self.postconf("-X", *[p.split("=")[0] for p in self.PAUSED])
        else:
            self.postconf("-e", *self.PAUSED)
        r = subprocess.run(["postfix", "-c", self.conf, "start"], capture_output=True, text=True,
                           preexec_fn=self.b.acct.preexec(self.name))
        if r.returncode != 0:
            fail("postfix start: %s%s" % (r.stdout, r.stderr))
        pidf = os.path.join(self.spool, "pid", "master.pid")
        if not wait_for(lambda: os.path.exists(pidf) and os.path.getsize(pidf) > 0, 20):
            fail("postfix master did not start; see " + self.log)
        # wait for qmgr and pickup, which the master starts at once
        wait_for(lambda: len(self.b.acct.pids(self.name)) >= (3 if deliver else 2), 10)
        if smtp and not wait_for(lambda: listening(self.port), 10):
            fail("postfix smtpd does not listen on port %d; see %s" % (self.port, self.log))

    def resume(self):
        self.postconf("-X", *[p.split("=")[0] for p in self.PAUSED])
        sh(["postfix", "-c", self.conf, "reload"])

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"], capture_output=True)
        if not wait_for(lambda: not self.b.acct.pids(self.name), 20):
            say("postfix did not stop; killing it")
            self.b.acct.kill(self.name)

    def sendmail(self, rcpts):
        return ["/usr/sbin/sendmail", "-C", self.conf, "-f", SENDER] + rcpts

    def queue_empty(self):
        return all(files_under(os.path.join(self.spool, q)) == 0
                   for q in ("maildrop", "incoming", "active", "deferred", "hold"))

    def problems(self):
        try:
            with open(self.log, errors="replace") as f:
                return [l.rstrip() for l in f
                        if re.search(r"status=(bounced|deferred)|fatal:|panic:|reject:", l)]
        except FileNotFoundError:
            return ["no log " + self.log]

    def settings(self):
        return sh(["postconf", "-c", self.conf, "-n"]).stdout


class Nqmail(MTA):
    name = "nqmail"
    server = "qmail-smtpd"

    def __init__(self, bench):
        super().__init__(bench)
        self.q = os.path.join(self.dir, "q")
        self.log = os.path.join(self.dir, "send.log")
        self.smtplog = os.path.join(self.dir, "smtpd.log")
        self.proc = None
        self.tcpserver = None
        b = self.b
        sh(["sh", os.path.join(TOP, "scripts", "setup.sh"), self.q, b.build])
        sh([self.bin("config-fast"), DOMAIN])
        with open(os.path.join(self.q, "control", "locals"), "a") as f:
            f.write(VDOMAIN + "\n")
        write(os.path.join(self.q, "users", "assign"), "".join(
            "=r%d:%s:%d:%d:%s:::\n" % (i, USER, b.uid, b.gid, os.path.join(b.vbase, "r%d" % i))
            for i in range(b.args.recipients)) + ".\n")
        sh([self.bin("qmail-newu")])

    def bin(self, p):
        return os.path.join(self.q, "bin", p)

    def ids(self, role):
        """(uid, gid) of a qmail role, from DIR/users/ids."""
        with open(os.path.join(self.q, "users", "ids")) as f:
            for line in f:
                r, u, g = line.strip().split(":")
                if r == role:
                    return u, g
        fail("no %s in %s/users/ids" % (role, self.q))

    def start(self, deliver=True, smtp=False):
        if smtp:
            self.start_smtp()
        if deliver:
            self.resume()

    def start_smtp(self):
        """tcpserver as qmail-smtpd(8) asks: as qmaild, no DNS, no ident,
        SESSIONS at a time; no rules file, so no client may relay and
        control/rcpthosts (config-fast put the bench domain there) says
        what is accepted."""
        uid, gid = self.ids("qmaild")
        logf = open(self.smtplog, "ab")
        self.tcpserver = subprocess.Popen(
            ["tcpserver", "-R", "-H", "-l", DOMAIN, "-c", str(SESSIONS), "-u", uid, "-g", gid,
             "127.0.0.1", str(self.port), self.bin("qmail-smtpd")],
            cwd=self.q, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
            preexec_fn=self.b.acct.preexec(self.name))
        logf.close()
        if not wait_for(lambda: listening(self.port) or self.tcpserver.poll() is not None, 10) \
           or self.tcpserver.poll() is not None:
            fail("tcpserver did not start on port %d; see %s" % (self.port, self.smtplog))

    def resume(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.bin("qmail-start"), "./Maildir/"], cwd=self.q,
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     preexec_fn=self.b.acct.preexec(self.name))
        logf.close()
        if not wait_for(lambda: self.send_pids() or self.proc.poll() is not None, 10):
            fail("qmail-send did not start; see " + self.log)
        if self.proc.poll() is not None:
            fail("qmail-start exited %d; see %s" % (self.proc.returncode, self.log))
        wait_for(lambda: "status:" in self.logtext(), 5)

    def send_pids(self):
        exe = self.bin("qmail-send")
        out = []
        for p in self.b.acct.pids(self.name):
            try:
                if os.readlink("/proc/%d/exe" % p) == exe:
                    out.append(p)
            except OSError:
                pass
        return out

    def stop(self):
        if self.tcpserver:
            # tcpserver's children finish their sessions on their own
            self.tcpserver.terminate()
            try:
                self.tcpserver.wait(10)
            except subprocess.TimeoutExpired:
                self.tcpserver.kill()
                self.tcpserver.wait()
            self.tcpserver = None
        for p in self.send_pids():
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if not wait_for(lambda: not self.b.acct.pids(self.name), 20):
            say("nqmail did not stop; killing it")
            self.b.acct.kill(self.name)
        if self.proc:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def sendmail(self, rcpts):
        return [self.bin("sendmail"), "-f", SENDER] + rcpts

    def queue_empty(self):
        qd = os.path.join(self.q, "queue")
        return all(files_under(os.path.join(qd, d)) == 0 for d in ("mess", "todo", "intd", "pid"))

    def problems(self):
        out = [l for l in self.logtext().splitlines()
               if re.search(r": (failure|deferral):|alert:|unable to", l)]
        # qmail-smtpd logs only what went wrong (refusals, timeouts, ...)
        try:
            with open(self.smtplog, errors="replace") as f:
                out += [l.rstrip() for l in f if l.strip()]
        except FileNotFoundError:
            pass
        return out
