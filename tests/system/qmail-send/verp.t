#!/usr/bin/env python3
# qmail-send's VERP: a message whose envelope sender is owner-@host-@[]
# reaches each recipient with its own sender owner-box=dom@host (seen by
# a .qmail program as $SENDER; for a virtualdomains recipient the address
# as it was written), and the bounce of each recipient that failed here
# goes, alone, to that same per-recipient address. Many failures are
# bounced in batches, each exactly once. A plain sender still gets one
# bounce for all its failures. Root mode and single-user mode.
# smoke
import email, email.policy, os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, IS_ROOT

t = Tap()
NAME = "example.test"
VERP = "owner-@%s-@[]" % NAME


def parse(text):
    return email.message_from_string(text, policy=email.policy.compat32)


def check(q, tag):
    q.write("alias/.qmail-rec", '|echo "$SENDER $RECIPIENT" >> senders.txt\n')
    q.write("alias/.qmail-vu-rec2", '|echo "$SENDER $RECIPIENT" >> senders.txt\n')
    q.write("alias/.qmail-owner-default", "./Maildir-owner/\n")
    q.write("alias/.qmail-plain", "./Maildir-plain/\n")
    q.maildirmake("alias/Maildir-owner")
    q.maildirmake("alias/Maildir-plain")
    q.control("virtualdomains", "virt.test:vu")
    q.start()
    senders = q.path("alias/senders.txt")

    def lines():
        try:
            return sorted(open(senders).read().split("\n")[:-1])
        except OSError:
            return []

    rc = q.queue("Subject: verp %s\n\nlist mail\n" % tag, VERP,
                 ["rec@" + NAME, "rec2@virt.test", "nosuch@" + NAME, "gone@virt.test"])
    t.eq(rc, 0, "%s: queued with sender %s" % (tag, VERP))
    t.ok(q.wait(lambda: len(lines()) == 2, 20), "%s: the program ran for both recipients" % tag, q.logtext())
    t.eq(lines(), ["owner-rec2=virt.test@%s vu-rec2@virt.test" % NAME,
                   "owner-rec=%s@%s rec@%s" % (NAME, NAME, NAME)],
         "%s: $SENDER is owner-box=dom@host per recipient (the address as written)" % tag, lines())
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir-owner") == 2 and q.queue_count() == 0, 20),
         "%s: two bounces reached the owner" % tag, q.logtext())
    got = {}
    for text in q.maildir_texts("alias/Maildir-owner"):
        m = re.search(r"^Delivered-To: (\S+)$", text, re.M)
        got[m.group(1) if m else "?"] = text
    want = {"owner-nosuch=%s@%s" % (NAME, NAME): "nosuch@" + NAME,
            "owner-gone=virt.test@%s" % NAME: "gone@virt.test"}
    t.eq(sorted(got), sorted(want), "%s: one bounce to each failed recipient's own address" % tag, list(got))
    for addr, failed in want.items():
        text = got.get(addr, "")
        msg = parse(text)
        parts = msg.get_payload() if msg.is_multipart() else []
        t.ok(text.startswith("Return-Path: <>\n"), "%s: bounce to %s is from <>" % (tag, addr))
        t.eq(msg["To"], addr, "%s: its To: is the per-recipient address" % tag)
        t.ok(len(parts) == 3 and "<%s>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n--- Below" % failed
             in parts[0].get_payload(), "%s: its text names %s" % (tag, failed), parts[0].get_payload() if parts else text)
        others = [f for f in want.values() if f != failed]
        t.ok(len(parts) == 3 and not any(o in parts[0].get_payload() for o in others),
             "%s: and only that address" % tag)
        groups = parts[1].get_payload() if len(parts) == 3 else []
        t.eq([g["Final-Recipient"] for g in groups[1:]], ["rfc822; " + failed],
             "%s: one delivery-status group for %s" % (tag, failed))
        inner = parts[2].get_payload()[0] if len(parts) == 3 else None
        t.eq(inner and inner["Return-Path"], "<%s>" % addr, "%s: the copy shows the return path it had" % tag)
    log = q.logtext()
    m = re.search(r"^info msg (\d+): bytes \d+ from <%s>" % re.escape(VERP), log, re.M)
    n = m.group(1) if m else "?"
    t.eq(len(re.findall(r"^bounce msg %s qp \d+$" % n, log, re.M)), 2, "%s: bounce msg logged per bounce" % tag, log)

    # a plain sender: one bounce naming both failures
    q.queue("Subject: plain\n\nplain\n", "plain@" + NAME, ["nosuch@" + NAME, "gone@virt.test"])
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir-plain") == 1 and q.queue_count() == 0, 20),
         "%s: a plain sender gets one bounce" % tag, q.logtext())
    texts = q.maildir_texts("alias/Maildir-plain")
    t.ok(texts and "<nosuch@%s>:" % NAME in texts[0] and "<gone@virt.test>:" in texts[0],
         "%s: naming both failures" % tag)
    return n


def many(q):
    # Two messages with more failures than one batch (32) each, finishing
    # together: their bounces go in turns, each batch resuming after the
    # blocks already marked sent. Every bounce exactly once.
    K = 40
    before = q.maildir_count("alias/Maildir-owner")
    for m in ("a", "b"):
        q.queue("Subject: many\n\nmany\n", VERP, ["%s%d@%s" % (m, i, NAME) for i in range(K)])
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir-owner") >= before + 2 * K and q.queue_count() == 0, 50),
         "2 x %d failures: %d bounces" % (K, 2 * K), q.logtext()[-3000:])
    seen = {}
    for text in q.maildir_texts("alias/Maildir-owner"):
        m = re.search(r"^Delivered-To: owner-([ab]\d+)=", text, re.M)
        if m:
            seen[m.group(1)] = seen.get(m.group(1), 0) + 1
    t.eq(sorted(seen), sorted("%s%d" % (m, i) for m in "ab" for i in range(K)), "each to its own address")
    t.eq(set(seen.values()), {1}, "each exactly once")
    t.ok(not os.listdir(q.path("queue/bounce")), "bounce/N removed at the end")


with Instance(t, name=NAME) as q:
    check(q, "root")
    many(q)
    q.stop()

user = None
try:
    if IS_ROOT:
        user = TestUser("nqtverp%d" % (os.getpid() % 100000))
    with Instance(t, name=NAME, mode="single", owner=user.name if user else None) as q:
        check(q, "single-user")
        q.stop()
finally:
    if user:
        user.remove()
t.done()
