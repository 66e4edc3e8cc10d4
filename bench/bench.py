#!/usr/bin/env python3
"""bench.py: nqmail against Postfix on this machine (run by bench/run).

One run measures both MTAs on the same workloads, one after the other,
each on a fresh Maildir, and prints a table of figures with the ratio
nqmail/Postfix:

  (a) N messages (default 5000) injected by 4 parallel loops of the MTA's
      own sendmail to one local user; time from the first injection until
      all are in ~/Maildir/new;
  (b) one message to R recipients (default 1000), each with its own
      Maildir; time until all are delivered;
  (c) CPU seconds per message: user+sys of every process of the MTA,
      injecting sendmail included, from a cgroup per MTA (cgroup v2
      cpu.stat, else cgroup v1 cpuacct, else /proc; the output says which);
  (d) the disk's own fsync rate, the physical limit;
  and, over a sample of messages traced with strace -f, the processes
  started, programs executed, files created and fsyncs per message (and
  per recipient of (b)), in all and by program; and, with perf sampling
  only the MTA's cgroup, the CPU per message by program.

Over SMTP (bench/smtp.py), with Postfix's smtp-source as the client of
both, 20 sessions, 1 KiB messages:
  (s) acceptance of N messages with delivery paused, then the queue
      draining into the Maildir;
  (e) end-to-end, N messages from the first connection until all are in
      Maildir/new;
  (m) memory per connection (the serving process's VmHWM and private
      memory; the MTA's total PSS at 20 sessions);
  and the same strace and perf figures for SMTP.
Relaying (bench/remote.py), both MTAs to one SMTP sink on loopback
(bench/sink.py, which counts connections): (r) N messages to one
destination, (f) one message to R recipients at 10 domains. A list
(bench/maillist.py): (L) one message to 10 000 subscribers, half local,
half remote (at the same sink). POP3
(bench/pop3.py), qmail-popup/qmail-pop3d against a private Dovecot:
(p) 10 parallel clients RETR 10 000 messages, (l) login and LIST of 20 000.
DKIM (bench/dkim.py), with one RSA-2048 key for both, Postfix using
OpenDKIM as its milter, key records from a dnsmasq on loopback: (g) N
messages relayed to the sink without and with signing, (v) N signed
messages received over SMTP without and with verification; CPU per
message each way, and the difference.
The parts can be run alone: --only local, smtp, remote, list, pop3, dkim
(with or without an MTA: --only smtp,nqmail).

Both MTAs deliver as the same bench user into the same Maildir layout:
workload (a) to nqbench@bench.test (a real local user, home_mailbox
Maildir/ for Postfix, defaultdelivery ./Maildir/ for nqmail), workload (b)
to rN@vbench.test (Postfix: a virtual mailbox map; nqmail: users/assign),
whose Maildirs are BASE/rN/Maildir/.

Postfix (from Debian) runs from its own configuration and queue directory
in the work directory (postfix -c DIR, sendmail -C DIR), loopback only,
no DNS, never touching /etc/postfix; nqmail from a temporary instance made
by scripts/setup.sh and started with qmail-start. Everything this script
creates (users, cgroups, processes, files) is removed at the end.
"""
import argparse, os, pwd, re, shutil, signal, subprocess, sys, tempfile, time

from common import DOMAIN, VDOMAIN, USER, USER_RE, SENDER, SESSIONS, TOP, fail, say, sh, wait_for, \
    write, machine_busy
from measure import Accounting, Profile, Trace
from mtas import Postfix, Nqmail
from smtp import Smtp, WARM
import dkim, maillist, pop3, remote


class Bench:
    """One run: the work directory, the bench user, the workloads for each
    MTA in turn, the checks and the report."""

    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        base = args.workdir or "/var/tmp"
        self.work = tempfile.mkdtemp(prefix="nqbench-", dir=base)
        os.chmod(self.work, 0o755)
        self.home = os.path.join(self.work, "home")
        self.vbase = os.path.join(self.work, "vmail")
        self.helper = args.helper
        self.user_made = False
        self.acct = None
        self.mtas = []
        self.results = {}
        self.failures = []
        self.notes = []
        self.running = []           # strace or perf processes to stop if interrupted
        self.remote = None          # the remote part's SMTP sink, shared by both MTAs
        self.dkim = None            # the DKIM part's key, dnsmasq and capture server

    # set-up ---------------------------------------------------------------
    def make_user(self):
        # users left by runs that were killed (their pid is gone)
        for pw in pwd.getpwall():
            m = re.fullmatch(USER_RE, pw.pw_name)
            if m and (pw.pw_name == USER or not os.path.exists("/proc/" + m.group(1))):
                say("removing the user %s left by an earlier run" % pw.pw_name)
                sh(["userdel", pw.pw_name], check=False)
        sh(["useradd", "-M", "-d", self.home, "-s", "/usr/sbin/nologin", USER])
        self.user_made = True
        pw = pwd.getpwnam(USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        os.mkdir(self.home, 0o700)
        os.chown(self.home, self.uid, self.gid)
        os.mkdir(self.vbase, 0o755)
        os.chown(self.vbase, self.uid, self.gid)
        for i in range(self.args.recipients):
            h = os.path.join(self.vbase, "r%d" % i)
            os.mkdir(h, 0o700)
            os.chown(h, self.uid, self.gid)

    def fresh_maildir(self, home):
        md = os.path.join(home, "Maildir")
        shutil.rmtree(md, ignore_errors=True)
        for sub in ("", "tmp", "new", "cur"):
            p = os.path.join(md, sub)
            os.mkdir(p, 0o700)
            os.chown(p, self.uid, self.gid)
        return os.path.join(md, "new")

    def vhomes(self):
        return [os.path.join(self.vbase, "r%d" % i) for i in range(self.args.recipients)]

    def message(self, name, to):
        body = "".join("line %02d of the benchmark message; the quick brown fox jumps over "
                       "the lazy dog\n" % i for i in range(20))
        text = ("From: Bench Sender <%s>\nTo: %s\nSubject: nqmail benchmark\n"
                "Date: Thu, 01 Jan 2026 00:00:00 +0000\nMIME-Version: 1.0\n"
                "Content-Type: text/plain; charset=us-ascii\n\n%s" % (SENDER, to, body))
        p = os.path.join(self.work, name)
        write(p, text)
        return p

    # running ----------------------------------------------------------------
    def inject(self, mta, msg, rcpts, dirs, expect, loops, count, wrap=None, timeout=300, cmd=None):
        """Run nqbench inject (by default with the MTA's sendmail as the
        command); returns its key=value figures."""
        lst = os.path.join(self.work, "watch.lst")
        write(lst, "".join(d + "\n" for d in dirs))
        cmd = cmd or mta.sendmail(rcpts)
        if wrap:
            cmd = wrap + cmd
        argv = [self.helper, "inject", "-W", lst, "-e", str(expect),
                "-p", str(loops), "-n", str(count), "-m", msg, "-t", str(timeout)]
        pf = self.acct.procs_file(mta.name, "inject")
        if pf:
            argv += ["-c", pf]
        r = subprocess.run(argv + ["--"] + cmd, capture_output=True, text=True)
        out = dict(kv.split("=", 1) for kv in r.stdout.split())
        if r.returncode != 0:
            self.failures.append("%s: injection or delivery incomplete: %s %s"
                                 % (mta.name, r.stdout.strip(), r.stderr.strip()))
            say("%s: %s %s" % (mta.name, r.stdout.strip(), r.stderr.strip()))
        return {k: float(v) for k, v in out.items()}

    def settle(self, mta, timeout=120):
        if not wait_for(mta.queue_empty, timeout):
            self.failures.append("%s: queue not empty %ds after delivery" % (mta.name, timeout))
        time.sleep(0.3)

    def cpu(self, mta, part=None):
        c = self.acct.cpu(mta.name, part)
        return None if c is None else c[0] + c[1]

    def inject_cpu(self, i0, i1, r):
        """CPU seconds of the injecting processes over a workload."""
        return (i1 - i0) if i0 is not None else r.get("inject_cpu_s", 0.0)

    def check_user(self):
        """Other programs on the machine (tests adding and removing users)
        may rewrite the password file: make sure the bench user is still
        there, as it was, or every delivery would fail for a reason that
        is not the MTA's."""
        try:
            pw = pwd.getpwnam(USER)
            ok = (pw.pw_uid, pw.pw_gid, pw.pw_dir) == (self.uid, self.gid, self.home)
        except KeyError:
            ok = False
        if not ok:
            self.failures.append("the user %s changed or vanished during the run (another "
                                 "program edited the password file): the figures are void" % USER)

    def run_mta(self, mta):
        self.check_user()
        if "local" in self.args.parts:
            self.run_local(mta)
        if "smtp" in self.args.parts:
            Smtp(self).run(mta)
        if "remote" in self.args.parts:
            if self.remote is None:
                self.remote = remote.Remote(self)
            self.remote.run(mta)
        if "list" in self.args.parts:
            maillist.MailList(self).run(mta)
        if "pop3" in self.args.parts:
            pop3.Pop3(self).run(mta)
        if "dkim" in self.args.parts:
            if self.dkim is None:
                self.dkim = dkim.Dkim(self)
            self.dkim.run(mta)
        if set(self.args.parts) & {"local", "smtp", "remote", "list", "dkim"}:   # the MTA itself ran
            self.results[mta.name]["problems"] = mta.problems()
        self.check_user()

    def run_local(self, mta):
        """Workloads (a) and (b), through the MTA's sendmail."""
        a = self.args
        R = self.results.setdefault(mta.name, {})
        new = self.fresh_maildir(self.home)
        mta.start()
        # warm up: both MTAs start their helpers lazily
        msg_a = self.message("msg-a", USER + "@" + DOMAIN)
        self.inject(mta, msg_a, [USER + "@" + DOMAIN], [new], 20, 1, 20)
        self.settle(mta)

        # (a) N messages, L parallel loops
        new = self.fresh_maildir(self.home)
        per = a.messages // a.loops
        c0, i0, m0, t0 = self.cpu(mta), self.cpu(mta, "inject"), machine_busy(), time.time()
        say("%s: (a) %d messages by %d sendmail loops" % (mta.name, per * a.loops, a.loops))
        r = self.inject(mta, msg_a, [USER + "@" + DOMAIN], [new], per * a.loops, a.loops, per,
                        timeout=a.timeout)
        self.settle(mta)
        c1, i1, m1, t1 = self.cpu(mta), self.cpu(mta, "inject"), machine_busy(), time.time()
        R["a_other_pct"] = max(0.0, (m1 - m0) - (c1 - c0)) * 100 / ((t1 - t0) * os.cpu_count())
        n = per * a.loops
        R["a_deliver_s"] = r.get("deliver_s", -1)
        R["a_inject_s"] = r.get("inject_s", -1)
        R["a_count"] = len(os.listdir(new))
        inj = self.inject_cpu(i0, i1, r)
        R["a_cpu_ms"] = (c1 - c0) * 1000 / n
        R["a_cpu_inject_ms"] = inj * 1000 / n
        R["a_cpu_daemons_ms"] = R["a_cpu_ms"] - R["a_cpu_inject_ms"]
        say("%s: (a) delivered %d in %.2fs" % (mta.name, R["a_count"], R["a_deliver_s"]))
        self.check_content(mta, new)

        # (b) one message to R recipients
        vnew = [self.fresh_maildir(h) for h in self.vhomes()]
        rcpts = ["r%d@%s" % (i, VDOMAIN) for i in range(a.recipients)]
        msg_b = self.message("msg-b", "undisclosed-recipients:;")
        c0 = self.cpu(mta)
        say("%s: (b) one message to %d recipients" % (mta.name, a.recipients))
        r = self.inject(mta, msg_b, rcpts, vnew, a.recipients, 1, 1, timeout=a.timeout)
        self.settle(mta)
        c1 = self.cpu(mta)
        R["b_deliver_s"] = r.get("deliver_s", -1)
        R["b_counts"] = [len(os.listdir(d)) for d in vnew]
        R["b_cpu_ms"] = (c1 - c0) * 1000 / a.recipients
        say("%s: (b) delivered %d in %.2fs" % (mta.name, sum(R["b_counts"]), R["b_deliver_s"]))

        # the strace samples
        if a.sample > 0:
            self.sample(mta, "a", msg_a)
            self.sample(mta, "b", msg_b)
        if a.perf > 0:
            self.profile(mta, msg_a)
        mta.stop()

    def check_content(self, mta, new):
        names = sorted(os.listdir(new))
        if not names:
            return
        with open(os.path.join(new, names[0]), errors="replace") as f:
            text = f.read()
        if "line 19 of the benchmark message" not in text:
            self.failures.append("%s: delivered message lacks the body:\n%s" % (mta.name, text[:2000]))

    def sample(self, mta, kind, msg):
        """Trace S messages like (a) (kind "a": S messages to the user, one
        loop) or one message to S of (b)'s recipients (kind "b"), and count
        per message (or recipient)."""
        a = self.args
        if kind == "a":
            dirs = [self.fresh_maildir(self.home)]
            rcpts, loops, count = [USER + "@" + DOMAIN], 1, a.sample
        else:
            homes = self.vhomes()[:a.sample]
            dirs = [self.fresh_maildir(h) for h in homes]
            rcpts, loops, count = ["r%d@%s" % (i, VDOMAIN) for i in range(len(homes))], 1, 1
        n = a.sample if kind == "a" else len(rcpts)
        say("%s: tracing %s with strace -f" % (mta.name, "%d messages" % n if kind == "a"
                                                  else "one message to %d recipients" % n))
        attached = self.acct.pids(mta.name)
        t = Trace(attached)         # names the attached processes now
        dtrace = os.path.join(self.work, "%s-%s-daemons.trace" % (mta.name, kind))
        itrace = os.path.join(self.work, "%s-%s-inject.trace" % (mta.name, kind))
        opts = ["-f", "-q", "-s", "64", "-e", "trace=all"]
        st = subprocess.Popen(["strace"] + opts + ["-o", dtrace] +
                              [x for p in attached for x in ("-p", str(p))],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.running.append(st)
        # with -q strace says nothing once attached: give it a moment
        time.sleep(1.0)
        self.inject(mta, msg, rcpts, dirs, n, loops, count,
                    wrap=[shutil.which("strace")] + opts + ["-A", "-o", itrace], timeout=a.timeout)
        self.settle(mta)
        time.sleep(0.5)
        st.send_signal(signal.SIGINT)
        try:
            st.wait(30)
        except subprocess.TimeoutExpired:
            st.kill()
            st.wait()
        self.running.remove(st)
        t.read(dtrace)
        t.read(itrace)
        self.results[mta.name]["sample_" + kind] = t.summary(n)
        if not a.keep:
            for p in (dtrace, itrace):
                os.unlink(p)

    def profile(self, mta, msg):
        """Workload (a) again, smaller, under perf: CPU per message by program."""
        a = self.args
        cg = self.acct.perf_cgroup(mta.name)
        if not shutil.which("perf") or cg is None:
            self.notes.append("no CPU profile by program: it needs perf (Debian: linux-perf) "
                              "and cgroup v2")
            return
        new = self.fresh_maildir(self.home)
        per = max(1, a.perf // a.loops)
        prof = Profile(cg, os.path.join(self.work, "%s.perf" % mta.name))
        say("%s: profiling %d messages with perf" % (mta.name, per * a.loops))
        if not prof.start():
            self.notes.append("perf record failed for %s: no CPU profile" % mta.name)
            return
        self.running.append(prof.proc)
        c0 = self.cpu(mta)
        self.inject(mta, msg, [USER + "@" + DOMAIN], [new], per * a.loops, a.loops, per,
                    timeout=a.timeout)
        self.settle(mta)
        c1 = self.cpu(mta)
        prof.stop()
        self.running.remove(prof.proc)
        self.results[mta.name]["profile"] = {"ms": (c1 - c0) * 1000 / (per * a.loops),
                                             "n": per * a.loops, "shares": prof.shares()}
        if not a.keep:
            os.unlink(prof.data)

    def profile_table(self):
        out = []
        for key, what in (("profile", "message of (a)"), ("profile_s", "message of (e), SMTP")):
            for m, label in (("nqmail", "nqmail"), ("postfix", "Postfix")):
                p = self.results.get(m, {}).get(key)
                if not p:
                    continue
                shares = p["shares"]
                tot = sum(sum(c.values()) for c in shares.values()) or 1.0
                ms = p["ms"]
                out += ["", "%s, CPU per %s by program (perf over %d messages; %.2f ms in all):"
                        % (label, what, p["n"], ms),
                        "  %-18s %7s %7s %7s %7s %7s" % ("program", "ms", "kernel", "ld.so", "libc",
                                                         "rest")]
                for comm, c in sorted(shares.items(), key=lambda kv: -sum(kv[1].values())):
                    f = ms / tot
                    if sum(c.values()) * f < 0.005:
                        continue
                    # nqbench's child runs in the MTA's group from the moment
                    # it moved there until its execve of sendmail completes
                    name = "(exec of sendmail)" if comm == "nqbench" else comm
                    out.append("  %-18s %7.2f %7.2f %7.2f %7.2f %7.2f" % (
                        name[:18], sum(c.values()) * f, c["kernel"] * f, c["ld.so"] * f,
                        c["libc"] * f, c["rest"] * f))
        return "\n".join(out)

    def fsync_rate(self):
        # the best of three short rounds: other work on the disk only lowers it
        d = os.path.join(self.work, "fsync")
        os.mkdir(d)
        out = {}
        for _ in range(3):
            r = sh([self.helper, "fsync", d, "1"])
            for k, v in (kv.split("=", 1) for kv in r.stdout.split()):
                out[k] = max(float(v), out.get(k, 0.0))
        os.rmdir(d)
        fs = sh(["df", "--output=fstype,source", self.work]).stdout.split()[-2:]
        fs = "%s on %s" % tuple(fs) if len(fs) == 2 else "?"
        return float(out["fsync_per_s"]), float(out["fsync_dir_per_s"]), fs

    # report -----------------------------------------------------------------
    def compare(self):
        R = self.results
        n = self.args.messages
        for m, r in R.items():
            # each MTA alone: every SMTP message arrived, exactly once
            if "s_drain_count" in r and r["s_drain_count"] != n + WARM:
                self.failures.append("%s: (s) %d messages in the Maildir after draining, %d sent"
                                     % (m, r["s_drain_count"], n + WARM))
            if "e_count" in r and r["e_count"] != n:
                self.failures.append("%s: (e) %d messages in the Maildir, %d sent"
                                     % (m, r["e_count"], n))
        if len(R) < 2 or "local" not in self.args.parts:
            return
        p, q = R["postfix"], R["nqmail"]
        want = self.args.messages // self.args.loops * self.args.loops
        if p["a_count"] != q["a_count"] or q["a_count"] != want:
            self.failures.append("(a) delivered counts differ: nqmail %d, Postfix %d, sent %d"
                                 % (q["a_count"], p["a_count"], want))
        if p["b_counts"] != q["b_counts"] or any(c != 1 for c in q["b_counts"]):
            self.failures.append("(b) per-mailbox counts differ: nqmail %d mailboxes with one message, "
                                 "Postfix %d (of %d)" % (sum(c == 1 for c in q["b_counts"]),
                                                         sum(c == 1 for c in p["b_counts"]),
                                                         self.args.recipients))

    def table(self, fsync):
        a = self.args
        R = self.results
        n = a.messages // a.loops * a.loops
        rows = []

        def row(name, key, fmt, ratio_ok=True):
            vals = [R.get(m, {}).get(key) if not callable(key) else key(R.get(m, {}))
                    for m in ("nqmail", "postfix")]
            cells = [(fmt % v) if v is not None and v >= 0 else "-" for v in vals]
            ratio = "-"
            if ratio_ok and all(v is not None and v > 0 for v in vals):
                ratio = "%.2f" % (vals[0] / vals[1])
            rows.append((name, cells[0], cells[1], ratio))

        def rate(key, count):
            return lambda r: (count / r[key]) if r.get(key, -1) > 0 else None

        def smp(key, kind="a"):
            k = "sample_" + kind
            return lambda r: (r[k][key] if key != "calls" else sum(r[k]["calls"].values())) \
                if k in r else None

        if "local" in a.parts:
            row("(a) %d msgs, %d loops: until all in Maildir/new [s]" % (n, a.loops), "a_deliver_s", "%.2f")
            row("(a) messages per second (higher is better)", rate("a_deliver_s", n), "%.0f")
            row("(a) injection alone: all sendmails done [s]", "a_inject_s", "%.2f")
            row("(a) delivered to Maildir/new", lambda r: r.get("a_count"), "%d", False)
            row("(b) 1 msg to %d rcpts: until all delivered [s]" % a.recipients, "b_deliver_s", "%.2f")
            row("(b) deliveries per second (higher is better)", rate("b_deliver_s", a.recipients), "%.0f")
            row("(b) Maildirs holding exactly that message",
                lambda r: sum(c == 1 for c in r["b_counts"]) if "b_counts" in r else None, "%d", False)
            row("(c) CPU per message, (a), all processes [ms]", "a_cpu_ms", "%.2f")
            row("(c)   of which the injecting sendmail & co [ms]", "a_cpu_inject_ms", "%.2f")
            row("(c)   of which the MTA's daemons & deliveries [ms]", "a_cpu_daemons_ms", "%.2f")
            row("(c) CPU per recipient, (b) [ms]", "b_cpu_ms", "%.2f")
            row("other CPU load on the machine during (a) [%]", "a_other_pct", "%.0f", False)
            for kind, unit in (("a", "message"), ("b", "recipient")):
                pre = "(%s) per %s, traced:" % (kind, unit)
                row(pre + " processes started", smp("procs", kind), "%.2f")
                row(pre + " programs executed", smp("execs", kind), "%.2f")
                row(pre + " files created", smp("creates", kind), "%.2f")
                row(pre + " fsyncs", smp("fsyncs", kind), "%.2f")
                row(pre + " system calls", smp("calls", kind), "%.0f")
            # One fsync at a time, the disk allows fsync[0] per second; parallel
            # fsyncs can share a journal commit, so this is a guide, not a wall.
            row("(d) fsync rate / fsyncs per msg [msg/s] (higher is better)",
                lambda r: fsync[0] / r["sample_a"]["fsyncs"]
                if r.get("sample_a", {}).get("fsyncs") else None, "%.0f")

        if "smtp" in a.parts:
            N, S = a.messages, SESSIONS
            row("(s) %d msgs over SMTP, %d sessions, delivery paused: accepted [s]" % (N, S),
                "s_accept_s", "%.2f")
            row("(s) messages accepted per second (higher is better)", rate("s_accept_s", N), "%.0f")
            row("(s) CPU per message accepted, the MTA's processes [ms]", "s_cpu_ms", "%.2f")
            row("(s) then the %d queued drained into Maildir/new [s]" % (N + WARM), "s_drain_s", "%.2f")
            row("(s) drain: messages per second (higher is better)", rate("s_drain_s", N + WARM),
                "%.0f")
            row("(s) CPU per message drained [ms]", "s_drain_cpu_ms", "%.2f")
            row("(e) %d msgs, SMTP to Maildir/new, %d sessions [s]" % (N, S), "e_deliver_s", "%.2f")
            row("(e) messages per second, end to end (higher is better)", rate("e_deliver_s", N),
                "%.0f")
            row("(e) SMTP client done, all accepted, while delivering [s]", "e_accept_s", "%.2f")
            row("(e) delivered to Maildir/new", lambda r: r.get("e_count"), "%d", False)
            row("(e) CPU per message, SMTP to Maildir, the MTA's processes [ms]", "e_cpu_ms", "%.2f")
            row("(m) serving process per connection: peak RSS (VmHWM) [KiB]", "m_hwm_kib", "%.0f")
            row("(m) serving process per connection: private memory [KiB]", "m_private_kib", "%.0f")
            row("(m) all the MTA's processes at %d sessions: peak PSS / %d [KiB]" % (S, S),
                "m_pss_kib", "%.0f")
            row("other CPU load on the machine during (s) [%]", "s_other_pct", "%.0f", False)
            row("other CPU load on the machine during (e) [%]", "e_other_pct", "%.0f", False)
            pre = "(e) per message, traced:"
            row(pre + " processes started", smp("procs", "s"), "%.2f")
            row(pre + " programs executed", smp("execs", "s"), "%.2f")
            row(pre + " files created", smp("creates", "s"), "%.2f")
            row(pre + " fsyncs", smp("fsyncs", "s"), "%.2f")
            row(pre + " system calls", smp("calls", "s"), "%.0f")

        if "remote" in a.parts:
            remote.rows(row, rate, a)
        if "list" in a.parts:
            maillist.rows(row, rate, a)
        if "pop3" in a.parts:
            pop3.rows(row, rate, a)
        if "dkim" in a.parts:
            dkim.rows(row, a)

        w = max(len(r[0]) for r in rows)
        out = ["", "%-*s %10s %10s %8s" % (w, "figure", "nqmail", "Postfix", "nq/pf"),
               "-" * (w + 31)]
        for r in rows:
            out.append("%-*s %10s %10s %8s" % (w, r[0], r[1], r[2], r[3]))
        out.append("-" * (w + 31))
        out.append("(d) disk: %.0f fsyncs/s (new 4 KB file, fsync), %.0f/s with the directory "
                   "fsynced too; file system %s" % fsync)
        out.append("CPU accounting: " + self.acct.describe())
        for k, w in (("a", "(a)"), ("s", "(s)"), ("e", "(e)"), ("r", "(r)"), ("L", "(L)"),
                     ("g_off", "(g) without signing"), ("g_on", "(g) with signing"),
                     ("v_off", "(v) without verification"), ("v_on", "(v) verifying")):
            busy = max([R.get(m, {}).get(k + "_other_pct", 0) for m in R] or [0])
            if busy > 10:
                out.append("WARNING: other work used %.0f%% of the machine's CPU during %s: the "
                           "times are disturbed; the CPU figures much less so" % (busy, w))
        out.append("nq/pf = nqmail / Postfix: below 1 nqmail needs less; in the rows marked "
                   "(higher is better), above 1 nqmail is faster")
        return "\n".join(out)

    def programs_table(self):
        """Per program, per message (a) or recipient (b): where the work goes."""
        R = self.results
        out = []
        for kind, unit in (("a", "message of (a)"), ("b", "recipient of (b)"),
                           ("s", "message over SMTP")):
            for m, label in (("nqmail", "nqmail"), ("postfix", "Postfix")):
                smp = R.get(m, {}).get("sample_" + kind)
                if not smp:
                    continue
                out += ["", "%s, per %s, by program (traced):" % (label, unit),
                        "  %-18s %7s %7s %9s %7s %7s" % ("program", "procs", "execs", "syscalls",
                                                          "files", "fsyncs")]
                progs = sorted(smp["programs"].items(), key=lambda kv: -kv[1].get("calls", 0))
                for p, c in progs:
                    if c.get("calls", 0) < 0.5 and c.get("procs", 0) < 0.05:
                        continue
                    out.append("  %-18s %7.2f %7.2f %9.0f %7.2f %7.2f" % (
                        p[:18], c.get("procs", 0), c.get("execs", 0), c.get("calls", 0),
                        c.get("creates", 0), c.get("fsyncs", 0)))
        return "\n".join(out)

    def machine(self):
        """What was measured, where: so that two runs can be compared."""
        def first(cmd):
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=TOP)
            return r.stdout.strip().splitlines()[0] if r.returncode == 0 and r.stdout.strip() else "?"
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        rev = first(["git", "rev-parse", "--short", "HEAD"])
        dirty = subprocess.run(["git", "status", "--porcelain"],
                               capture_output=True, text=True, cwd=TOP).stdout.strip()
        return "\n".join([
            "",
            "machine: %s, %d CPUs, kernel %s" % (cpu, os.cpu_count(), os.uname().release),
            "nqmail:  git %s%s, built in %s" % (rev, " with uncommitted changes" if dirty else "",
                                                 self.build),
            "Postfix: %s" % first(["postconf", "-d", "-h", "mail_version"]),
            "run:     %s, parts: %s; %d messages (%d sendmail loops; %d SMTP sessions), "
            "%d recipients, %d traced"
            % (time.strftime("%Y-%m-%d %H:%M:%S %Z"), " ".join(self.args.parts), self.args.messages,
               self.args.loops, SESSIONS, self.args.recipients, self.args.sample)
            + (", %d DKIM messages each way" % self.args.dkim_messages
               if "dkim" in self.args.parts else "")])

    def syscall_table(self):
        """The most frequent system calls per message, side by side; for
        SMTP also the wall-clock time in them (strace -T: it includes the
        waiting in poll, read or wait4, and strace's own cost per call)."""
        R = self.results
        mtas = [m for m in ("nqmail", "postfix") if m in R]
        heads = {"nqmail": "nqmail", "postfix": "Postfix"}
        out = []
        for kind, what in (("a", "message of (a)"), ("s", "message over SMTP, (e)")):
            smp = {m: R[m]["sample_" + kind] for m in mtas if "sample_" + kind in R[m]}
            if not smp:
                continue
            timed = kind == "s"
            names = sorted({k for v in smp.values() for k in v["calls"]},
                           key=lambda k: -sum(v["calls"].get(k, 0) for v in smp.values()))[:25]
            out += ["", "system calls per %s, traced (the 25 most frequent)%s:"
                    % (what, "; us: wall-clock microseconds in them (strace -T)" if timed else ""),
                    "%-20s" % "syscall" + "".join(
                        "%10s" % heads[m] + ("%10s" % "us" if timed else "") for m in smp)]
            for k in names:
                out.append("%-20s" % k + "".join(
                    "%10.1f" % smp[m]["calls"].get(k, 0) +
                    ("%10.0f" % (smp[m]["seconds"].get(k, 0) * 1e6) if timed else "")
                    for m in smp))
        return "\n".join(out)

    def spent_table(self):
        """Per program, where the wall-clock time of an SMTP message goes
        in system calls (strace -T): the programs in turn, with their five
        costliest calls, and apart the time they spent waiting (for the
        client, a child, another daemon: poll, wait4, reads from sockets
        and pipes, ...). Under strace every call costs more: a guide to
        where to look, not CPU."""
        out = []
        for m, label in (("nqmail", "nqmail"), ("postfix", "Postfix")):
            smp = self.results.get(m, {}).get("sample_s")
            if not smp or not smp.get("spent"):
                continue
            out += ["", "%s, per message over SMTP, wall-clock ms in system calls by program "
                    "(strace -T), waiting apart:" % label,
                    "  %-18s %7s %7s  %s" % ("program", "work", "waiting", "costliest calls (ms)")]
            progs = set(smp["spent"]) | set(smp.get("waited", {}))
            for prog in sorted(progs, key=lambda p: -sum(smp["spent"].get(p, {}).values())):
                c = smp["spent"].get(prog, {})
                work, wait = sum(c.values()), smp.get("waited", {}).get(prog, 0.0)
                if work + wait < 5e-5:
                    continue
                top = sorted(c.items(), key=lambda kv: -kv[1])[:5]
                out.append("  %-18s %7.2f %7.2f  %s" % (prog[:18], work * 1e3, wait * 1e3, ", ".join(
                    "%s %.2f" % (k, v * 1e3) for k, v in top)))
        return "\n".join(out)

    def cleanup(self):
        # finish the cleaning even if interrupted again (every step has a timeout)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for p in self.running:      # detach strace before the MTA is stopped
            p.send_signal(signal.SIGINT)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.dkim:
            self.dkim.stop()
        if self.remote:
            self.remote.stop()
        for m in self.mtas:
            try:
                if self.acct and self.acct.pids(m.name):
                    m.stop()
            except SystemExit:
                pass
            except Exception as e:   # keep cleaning up
                say("stopping %s: %s" % (m.name, e))
        if self.acct:
            self.acct.remove()
        if self.user_made:
            sh(["userdel", USER], check=False)
        if self.args.keep:
            say("kept the work directory " + self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(prog="sh bench/run", description="nqmail against Postfix on this "
                                 "machine; see bench/README.md")
    ap.add_argument("--messages", type=int, default=5000, help="workloads (a), (s) and (e): messages (5000)")
    ap.add_argument("--loops", type=int, default=4, help="workload (a): parallel sendmail loops (4)")
    ap.add_argument("--recipients", type=int, default=1000, help="workload (b): recipients (1000)")
    ap.add_argument("--sample", type=int, default=50,
                    help="messages (and recipients of (b)) traced with strace, locally and over "
                    "SMTP (50; 0: none)")
    ap.add_argument("--perf", type=int, default=1000,
                    help="messages of (a) and of (e) profiled with perf, by program (1000; 0: none)")
    ap.add_argument("--only", default="",
                    help="comma-separated MTAs (nqmail, postfix) and/or parts (local: workloads "
                    "(a) (b) through sendmail; smtp: (s) (e) (m) over SMTP; remote: (r) (f) relayed to an "
                    "SMTP sink; list: (L) a 10 000-subscriber list; pop3: (p) (l) qmail-pop3d "
                    "against Dovecot; dkim: (g) (v) DKIM signing and verification against "
                    "OpenDKIM); default: everything")
    ap.add_argument("--list-subscribers", type=int, default=10000,
                    help="workload (L): subscribers of the list (10000)")
    ap.add_argument("--pop3-messages", type=int, default=10000,
                    help="workload (p): messages retrieved over POP3 (10000; (l) lists twice as many)")
    ap.add_argument("--dkim-messages", type=int, default=2000,
                    help="workloads (g) and (v): messages signed, and verified, each way (2000)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds allowed per workload (300)")
    ap.add_argument("--workdir", help="where the temporary directory goes (/var/tmp)")
    ap.add_argument("--accounting", choices=("auto", "v2", "v1", "proc"), default="auto",
                    help="how CPU time is counted (auto: cgroup v2, else v1 cpuacct, else /proc)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory and traces")
    ap.add_argument("--build", default=os.path.join(TOP, "build"), help="nqmail build directory")
    ap.add_argument("--helper", required=True, help=argparse.SUPPRESS)   # bench/run compiles it
    args = ap.parse_args()
    words = [w for w in args.only.split(",") if w]
    parts = ("local", "smtp", "remote", "list", "pop3", "dkim")
    bad = [w for w in words if w not in ("nqmail", "postfix") + parts]
    if bad:
        ap.error("--only: unknown %s (nqmail, postfix, %s)" % (", ".join(bad), ", ".join(parts)))
    args.mtas = [m for m in ("postfix", "nqmail") if m in words] or ["postfix", "nqmail"]
    args.parts = [p for p in parts if p in words] or list(parts)
    if os.geteuid() != 0:
        fail("run as root (it creates a user, cgroups and a Postfix instance)")
    if args.loops < 1 or args.messages < args.loops or args.recipients < 1 \
       or args.dkim_messages < 2 * args.loops:
        fail("bad sizes")

    b = Bench(args)

    def stop(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)     # even when started with SIGINT ignored
    try:
        say("work directory " + b.work)
        b.make_user()
        names = args.mtas
        # the pop3 part's Dovecot gets a group of its own
        b.acct = Accounting(names + (["dovecot"] if "pop3" in args.parts and "postfix" in names
                                     else []), args.accounting)
        say("CPU accounting: " + b.acct.describe())
        fsync = b.fsync_rate()
        say("disk: %.0f fsync/s" % fsync[0])
        settings = None
        for name in names:
            mta = Postfix(b) if name == "postfix" else Nqmail(b)
            b.mtas.append(mta)
            b.run_mta(mta)
            if name == "postfix" and set(args.parts) & {"local", "smtp", "remote", "list", "dkim"}:
                # after the run: the remote part adds relay settings
                settings = mta.settings()
        b.compare()
        print(b.machine())
        print(b.table(fsync))
        print(b.programs_table())
        print(b.profile_table())
        print(b.syscall_table())
        print(b.spent_table())
        for n in dict.fromkeys(b.notes):
            print("bench: note: " + n)
        if settings is not None:
            print("\nPostfix settings (postconf -c DIR -n):")
            print(settings.rstrip())
        for m in names:
            probs = b.results.get(m, {}).get("problems", [])
            if probs:
                b.failures.append("%s logged %d problem lines, e.g.: %s" % (m, len(probs), probs[0]))
        if b.failures:
            print("")
            for f in b.failures:
                print("bench: FAIL: " + f)
            return 1
        print("\nbench: both MTAs delivered the same counts" if len(names) == 2 else "")
        return 0
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        b.cleanup()


if __name__ == "__main__":
    sys.exit(main())
