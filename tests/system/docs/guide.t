#!/usr/bin/env python3
# The admin guide must not rot: every ```sh block of doc/admin-guide.md
# whose first line is "# run" is run, in the order of the page, on one
# fresh root instance (with /var/qmail replaced by it), under bash -e -o
# pipefail, and must exit 0. Then what those blocks set up is checked by
# mail sent through it: the fastforward aliases, the virtual domain, the
# compiled tables and the report page.
# smoke
import os, re, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TOP, IS_ROOT, run

GUIDE = os.path.join(TOP, "doc", "admin-guide.md")


def run_blocks(text):
    """The guide's ```sh blocks whose first non-empty line is '# run',
    as (line number, script) pairs, in the order of the page."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```sh\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, start, body = len(m.group(1)), i + 1, []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        i += 1
        first = next((l.strip() for l in body if l.strip()), "")
        if first == "# run":
            out.append((start, "\n".join(body) + "\n"))
    return out


def first_command(script):
    for l in script.splitlines():
        if l.strip() and not l.lstrip().startswith("#"):
            return l.strip()
    return "(empty)"


t = Tap()
with open(GUIDE) as f:
    guide = f.read()
blocks = run_blocks(guide)
# A parser that finds nothing would make this test pass vacuously.
t.ok(len(blocks) >= 10, "the guide has runnable blocks (%d)" % len(blocks))
t.ok(all("/var/qmail" in s for _, s in blocks), "each runnable block works on the instance (/var/qmail)")

if not IS_ROOT:
    t.skip("guide blocks", "the guide's runnable blocks are for a root instance")
    t.done()

with Instance(t, name="mail.example.org") as q:
    env = dict(os.environ, PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.pop("NQMAIL_HOME", None)
    try:
        for lineno, script in blocks:
            s = script.replace("/var/qmail", q.dir)
            r = run(["bash", "-e", "-o", "pipefail", "-c", s], env=env, cwd=q.base, timeout=120)
            t.ok(r.returncode == 0, "guide line %d: %s" % (lineno, first_command(script)),
                 "exit %d\n%s%s" % (r.returncode, r.stdout.decode("utf-8", "replace"),
                                    r.stderr.decode("utf-8", "replace")))

        # What the blocks built, seen from outside.
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") >= 1, 10),
             "the guide's first message reached alias/Maildir")
        for f in ("control/tcp.smtp.cdb", "users/cdb", "alias/aliases.cdb", "log/report.html"):
            t.ok(os.path.exists(q.path(f)), "%s exists" % f)
        with open(q.path("log/report.html"), "rb") as fh:
            t.ok(b"<svg" in fh.read(), "the report page has its plots")

        before = q.maildir_count("alias/Maildir")
        r = q.inject("Subject: to webmaster\n\nvia the aliases file\n", ["webmaster@mail.example.org"])
        t.eq(r.returncode, 0, "inject to webmaster", r.stderr)
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == before + 1, 20),
             "webmaster (aliases file, fastforward) reached postmaster's Maildir")
        t.ok(any("via the aliases file" in m for m in q.maildir_texts("alias/Maildir")),
             "the forwarded message is the one sent")

        r = q.inject("Subject: virtual\n\nfor the virtual domain\n", ["anyone@example.net"])
        t.eq(r.returncode, 0, "inject to anyone@example.net", r.stderr)
        t.ok(q.wait(lambda: q.maildir_count("alias/examplenet") == 1, 20),
             "example.net (virtualdomains) reached alias/examplenet")

        st = run([q.bin("qmailctl"), "stat"], env=env)
        t.eq(st.returncode, 0, "qmailctl stat: every service up after the guide", st.stdout + st.stderr)
    finally:
        r = run([q.bin("qmailctl"), "stop"], env=env, timeout=120)
        t.eq(r.returncode, 0, "qmailctl stop", r.stdout + r.stderr)
t.done()
