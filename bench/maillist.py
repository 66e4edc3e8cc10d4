"""maillist: one message to a 10 000-subscriber list (issue 6), both MTAs.

Half the subscribers are local, half remote, interleaved as on a real list:

  local:  USER-sub-I@bench.test, all landing in the bench user's
          ~/Maildir/ (one Maildir: each copy is a real delivery, created
          and fsynced, which is what a list of local members costs);
  remote: sI@dK.remote.test over ten domains, relayed to the SMTP sink of
          the remote part (bench/sink.py on loopback, shared with it; it
          counts recipients, messages and connections).

  nqmail: the list is ~USER/.qmail-list, one forward line &ADDRESS per
          subscriber; the local ones reach ~USER/.qmail-sub-default
          (./Maildir/), the remote ones the sink through
          control/smtproutes (the remote part's routes).
  Postfix: the list is an alias, benchlist: :include:FILE (FILE holds the
          10 000 addresses), in an alias map of its own; with
          recipient_delimiter = - the local subscribers are the bench user
          with an extension, delivered to home_mailbox Maildir/; the remote
          ones go to the sink through the remote part's transport map.

  (L) timed from the injection (the MTA's sendmail, one message to the
      list address) until all local copies are in Maildir/new and all
      remote recipients are at the sink; both times are reported too,
      with the sink's SMTP transactions and connections and the CPU of the
      MTA's processes per recipient."""
import os, time

from common import DOMAIN, USER, machine_busy, say, sh, write
import remote

LISTNAME = "benchlist"


def subscribers(n):
    """The list: (local addresses, remote addresses, all in list order)."""
    loc, rem, allr = [], [], []
    for i in range(n):
        if i % 2 == 0:
            a = "%s-sub-%d@%s" % (USER, i, DOMAIN)
            loc.append(a)
        else:
            a = "s%d@d%d.%s" % (i, i % remote.NDOM, remote.RDOMAIN)
            rem.append(a)
        allr.append(a)
    return loc, rem, allr


class MailList:
    def __init__(self, bench):
        self.b = bench
        # the remote part's sink, started once and shared by both MTAs
        if bench.remote is None:
            bench.remote = remote.Remote(bench)
        self.sink = bench.remote

    def configure(self, mta, n):
        """Make the list address (and the routes to the sink); returns it."""
        b = self.b
        self.sink.configure(mta)
        _, _, members = subscribers(n)
        if mta.name == "nqmail":
            for name, text in ((".qmail-list", "".join("&%s\n" % a for a in members)),
                               (".qmail-sub-default", "./Maildir/\n")):
                p = os.path.join(b.home, name)
                write(p, text, 0o600)
                os.chown(p, b.uid, b.gid)
            return "%s-list@%s" % (USER, DOMAIN)
        inc = os.path.join(b.work, "list-members")
        write(inc, "".join(a + "\n" for a in members))
        aliases = os.path.join(mta.conf, "aliases")
        write(aliases, "%s: :include:%s\n" % (LISTNAME, inc))
        mta.postconf("-e", "alias_maps=hash:" + aliases, "alias_database=hash:" + aliases,
                     "recipient_delimiter=-")
        sh(["postalias", "-c", mta.conf, "hash:" + aliases])
        return "%s@%s" % (LISTNAME, DOMAIN)

    def run(self, mta):
        b, a = self.b, self.b.args
        R = b.results.setdefault(mta.name, {})
        n = a.list_subscribers
        loc, rem, _ = subscribers(n)
        nl, nr = len(loc), len(rem)
        addr = self.configure(mta, n)
        new = b.fresh_maildir(b.home)
        mta.start()
        # warm-up: helpers start lazily (one local, one remote delivery)
        msg = b.message("msg-list-warm", USER + "@" + DOMAIN)
        s0 = remote.ask(self.sink.port)
        b.inject(mta, msg, [USER + "@" + DOMAIN, rem[0]], [new], 5, 1, 5)
        self.sink.wait_sink(2, s0[2] + 5, 60)
        b.settle(mta)

        new = b.fresh_maildir(b.home)
        msg = b.message("msg-list", addr)
        s0 = remote.ask(self.sink.port)
        k0 = self.sink.sink_cpu()
        c0, m0, t0 = b.cpu(mta), machine_busy(), time.time()
        say("%s: (L) one message to a list of %d subscribers (%d local, %d remote)"
            % (mta.name, n, nl, nr))
        r = b.inject(mta, msg, [addr], [new], nl, 1, 1, timeout=a.timeout)
        s1 = self.sink.wait_sink(2, s0[2] + nr, a.timeout)
        t1, m1, cm, k1 = time.time(), machine_busy(), b.cpu(mta), self.sink.sink_cpu()
        b.settle(mta)
        c1 = b.cpu(mta)
        # the rest of the machine while the list went out, the sink's CPU
        # taken out (it is nobody's)
        R["L_other_pct"] = max(0.0, (m1 - m0) - (cm - c0) - (k1 - k0)) * 100 / ((t1 - t0) * os.cpu_count())
        R["L_count"] = len(os.listdir(new))
        R["L_rcpts"] = s1[2] - s0[2]
        R["L_local_s"] = r.get("deliver_s", -1) if R["L_count"] == nl else -1
        R["L_remote_s"] = s1[3] - t0 if R["L_rcpts"] == nr else -1
        R["L_deliver_s"] = max(R["L_local_s"], R["L_remote_s"]) \
            if min(R["L_local_s"], R["L_remote_s"]) > 0 else -1
        R["L_msgs"] = s1[1] - s0[1]
        R["L_conns"] = s1[0] - s0[0]
        R["L_cpu_ms"] = (c1 - c0) * 1000 / n
        if R["L_count"] != nl:
            b.failures.append("%s: (L) %d copies in the Maildir, %d local subscribers"
                              % (mta.name, R["L_count"], nl))
        if R["L_rcpts"] != nr:
            b.failures.append("%s: (L) the sink got %d of %d remote subscribers"
                              % (mta.name, R["L_rcpts"], nr))
        b.check_content(mta, new)
        say("%s: (L) %d local copies in %.2fs, %d remote at the sink in %.2fs "
            "(%d messages, %d connections)"
            % (mta.name, R["L_count"], R["L_local_s"], R["L_rcpts"], R["L_remote_s"],
               R["L_msgs"], R["L_conns"]))
        mta.stop()


def rows(row, rate, a):
    n = a.list_subscribers
    nl, nr = (n + 1) // 2, n // 2
    row("(L) 1 msg to a list of %d (%d local, %d remote): until all delivered [s]" % (n, nl, nr),
        "L_deliver_s", "%.2f")
    row("(L) recipients per second (higher is better)", rate("L_deliver_s", n), "%.0f")
    row("(L) until all local copies in Maildir/new [s]", "L_local_s", "%.2f")
    row("(L) until all remote recipients at the sink [s]", "L_remote_s", "%.2f")
    row("(L) copies in Maildir/new", "L_count", "%d", False)
    row("(L) recipients at the sink", "L_rcpts", "%d", False)
    row("(L) messages (SMTP transactions) at the sink", "L_msgs", "%d")
    row("(L) connections opened to the sink", "L_conns", "%d")
    row("(L) CPU per recipient, all processes [ms]", "L_cpu_ms", "%.3f")
    row("other CPU load on the machine during (L) [%]", "L_other_pct", "%.0f", False)
