"""mtas: the two MTAs under test, each set up in the work directory.

Postfix (Debian's package) gets its own configuration and queue directory
(postfix -c DIR, sendmail -C DIR): loopback only, no DNS, no remote
delivery, local(8) to the bench user's ~/Maildir/ for workload (a) and a
virtual mailbox map to BASE/rN/Maildir/ for workload (b). /etc/postfix is
never touched.

nqmail gets a temporary instance (scripts/setup.sh, config-fast) started
with qmail-start ./Maildir/; workload (b)'s recipients are users/assign
entries whose homes are BASE/rN."""
import os, pwd, re, signal, subprocess

from common import DOMAIN, VDOMAIN, USER, SENDER, TOP, fail, say, sh, wait_for, files_under, write


class MTA:
    """What both MTAs have in common: a work directory, the bench user, a
    sendmail command line, delivery checks."""
    name = "?"

    def __init__(self, bench):
        self.b = bench
        self.dir = os.path.join(bench.work, self.name)
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o755)

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
            "local_recipient_maps =",
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
            ""]))
        write(os.path.join(self.conf, "master.cf"), self.SERVICES)
        write(os.path.join(self.conf, "vmailbox"), "".join(
            "r%d@%s r%d/Maildir/\n" % (i, VDOMAIN, i) for i in range(b.args.recipients)))

    def start(self):
        r = subprocess.run(["postfix", "-c", self.conf, "start"], capture_output=True, text=True,
                           preexec_fn=self.b.acct.preexec(self.name))
        if r.returncode != 0:
            fail("postfix start: %s%s" % (r.stdout, r.stderr))
        pidf = os.path.join(self.spool, "pid", "master.pid")
        if not wait_for(lambda: os.path.exists(pidf) and os.path.getsize(pidf) > 0, 20):
            fail("postfix master did not start; see " + self.log)
        # wait for qmgr and pickup, which the master starts at once
        wait_for(lambda: len(self.b.acct.pids(self.name)) >= 3, 10)

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
                        if re.search(r"status=(bounced|deferred)|fatal:|panic:", l)]
        except FileNotFoundError:
            return ["no log " + self.log]

    def settings(self):
        return sh(["postconf", "-c", self.conf, "-n"]).stdout


class Nqmail(MTA):
    name = "nqmail"

    def __init__(self, bench):
        super().__init__(bench)
        self.q = os.path.join(self.dir, "q")
        self.log = os.path.join(self.dir, "send.log")
        self.proc = None
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

    def start(self):
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
        return [l for l in self.logtext().splitlines()
                if re.search(r": (failure|deferral):|alert:|unable to", l)]
