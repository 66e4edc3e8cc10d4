"""maillist: one message to a 10 000-subscriber list (issue 6), both MTAs.

The subscribers are local addresses USER-sub-0 ... USER-sub-9999 at the
bench domain, all landing in the bench user's ~/Maildir/ (one Maildir,
10 000 files: each copy is a real delivery, created and fsynced, which is
what a list of local members costs).

  nqmail: the list is ~USER/.qmail-list, one forward line &ADDRESS per
          subscriber; the subscribers reach ~USER/.qmail-sub-default,
          which holds ./Maildir/.
  Postfix: the list is an alias, benchlist: :include:FILE (FILE holds the
          10 000 addresses), in an alias map of its own; with
          recipient_delimiter = - the subscribers are the bench user with
          an extension, delivered to home_mailbox Maildir/.

  (L) timed from the injection (the MTA's sendmail, one message to the
      list address) until the 10 000 copies are in Maildir/new; CPU of the
      MTA's processes per recipient."""
import os

from common import DOMAIN, USER, say, sh, write

LISTNAME = "benchlist"


def subscribers(n):
    return ["%s-sub-%d@%s" % (USER, i, DOMAIN) for i in range(n)]


class MailList:
    def __init__(self, bench):
        self.b = bench

    def configure(self, mta, n):
        """Make the list address; returns it."""
        b = self.b
        if mta.name == "nqmail":
            for name, text in ((".qmail-list", "".join("&%s\n" % a for a in subscribers(n))),
                               (".qmail-sub-default", "./Maildir/\n")):
                p = os.path.join(b.home, name)
                write(p, text, 0o600)
                os.chown(p, b.uid, b.gid)
            return "%s-list@%s" % (USER, DOMAIN)
        inc = os.path.join(b.work, "list-members")
        write(inc, "".join(a + "\n" for a in subscribers(n)))
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
        addr = self.configure(mta, n)
        new = b.fresh_maildir(b.home)
        mta.start()
        # warm-up: helpers start lazily
        msg = b.message("msg-list-warm", USER + "@" + DOMAIN)
        b.inject(mta, msg, [USER + "@" + DOMAIN], [new], 5, 1, 5)
        b.settle(mta)

        new = b.fresh_maildir(b.home)
        msg = b.message("msg-list", addr)
        c0 = b.cpu(mta)
        say("%s: (L) one message to a list of %d subscribers" % (mta.name, n))
        r = b.inject(mta, msg, [addr], [new], n, 1, 1, timeout=a.timeout)
        b.settle(mta)
        c1 = b.cpu(mta)
        R["L_deliver_s"] = r.get("deliver_s", -1)
        R["L_count"] = len(os.listdir(new))
        R["L_cpu_ms"] = (c1 - c0) * 1000 / n
        if R["L_count"] != n:
            b.failures.append("%s: (L) %d copies in the Maildir, %d subscribers"
                              % (mta.name, R["L_count"], n))
        b.check_content(mta, new)
        say("%s: (L) %d copies in %.2fs" % (mta.name, R["L_count"], R["L_deliver_s"]))
        mta.stop()


def rows(row, rate, a):
    n = a.list_subscribers
    row("(L) 1 msg to a list of %d local subscribers: until all in Maildir/new [s]" % n,
        "L_deliver_s", "%.2f")
    row("(L) recipients per second (higher is better)", rate("L_deliver_s", n), "%.0f")
    row("(L) copies in Maildir/new", "L_count", "%d", False)
    row("(L) CPU per recipient, all processes [ms]", "L_cpu_ms", "%.3f")
