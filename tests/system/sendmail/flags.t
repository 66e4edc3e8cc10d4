#!/usr/bin/env python3
# sendmail: the command lines MUAs, cron and PHP use, each checked on the
# envelope and header qmail-queue stored; the options qmail ignores; -bp,
# -bs, -q and the names mailq/newaliases; refusals exit 100 with a message.
# smoke
import os, re, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-inject"))
from queuepeek import Peek, base_env
from nqtest import Tap, Instance, run

t = Tap()
with Instance(t, name="example.test") as q:
    p = Peek(q)
    env = base_env(USER="joe", NAME="Joe User")
    MSG = "To: to@a.b\nCc: cc@a.b\nBcc: bcc@a.b\nSubject: s\n\nbody\n"

    def sm(args, text=MSG, **kw):
        e = dict(env)
        e.update(kw)
        return p.inject(text, args=args, env=e, prog="sendmail")

    def one(args, text=MSG, **kw):
        r, m = sm(args, text, **kw)
        return (r, m[0]) if r.returncode == 0 and len(m) == 1 else (r, None)

    # --- the callers ------------------------------------------------------
    r, m = one(["-t", "-i"])
    t.ok(m and sorted(m.rcpts) == ["bcc@a.b", "cc@a.b", "to@a.b"] and m.header("Bcc") == [],
         "PHP mail(): sendmail -t -i takes To/Cc/Bcc, removes Bcc", r.stderr)
    t.ok(m and m.sender == "joe@example.test" and m.header("From") == ['"Joe User" <joe@example.test>'],
         "-t -i: sender and From from the user", m and m.head)

    r, m = one(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"],
               "Subject: Cron <root@host> run-parts\nContent-Type: text/plain\n\noutput\n", USER="root")
    t.ok(m and m.rcpts == ["root@example.test"], "cron: sendmail -FCronDaemon -i -B8BITMIME -oem root", r.stderr)
    t.ok(m and m.header("From") == ['"CronDaemon" <root@example.test>'], "cron: -F names the sender", m and m.head)

    r, m = one(["-oem", "-oi", "--", "friend@x.y"], "To: friend@x.y\nFrom: joe@example.test\n\nhi\n")
    t.ok(m and m.rcpts == ["friend@x.y"] and m.header("From") == ["joe@example.test"],
         "mutt: sendmail -oem -oi -- addr", r.stderr)

    r, m = one(["-t", "extra@x.y"])
    t.ok(m and sorted(m.rcpts) == ["bcc@a.b", "cc@a.b", "extra@x.y", "to@a.b"],
         "-t with arguments: header and arguments (qmail's -H)", m and m.rcpts)
    r, m = one(["only@x.y"])
    t.ok(m and m.rcpts == ["only@x.y"], "without -t: the arguments only, header recipients ignored", m and m.rcpts)
    r, m = one(["-t", "-i", "-f", "bounce@x.y"], "To: a@b.c\nSubject: s\n\nb\n")
    t.ok(m and m.sender == "bounce@x.y" and m.header("From") == ["bounce@x.y"],
         "-f sender: envelope sender and, without a From, the From", m and (m.sender, m.head))
    r, m = one(["-t", "-fbounce@x.y"], "To: a@b.c\nFrom: Web <web@x.y>\n\nb\n")
    t.ok(m and m.sender == "bounce@x.y" and m.header("From") == ["Web <web@x.y>"],
         "-fsender keeps a given From", m and (m.sender, m.head))
    r, m = one(["-r", "r@x.y", "a@b.c"], "Subject: s\n\nb\n")
    t.ok(m and m.sender == "r@x.y", "-r sender", m and m.sender)
    r, m = one(["-f", "<angle@x.y>", "a@b.c"], "Subject: s\n\nb\n")
    t.ok(m and m.sender == "angle@x.y", "-f '<addr>'", m and m.sender)
    r, m = one(["-f", "<>", "a@b.c"], "Subject: s\n\nb\n")
    t.ok(m and m.sender == "" and m.header("From") == ['"Joe User" <joe@example.test>'],
         "-f '<>': null sender, From from the user", m and (m.sender, m.head))
    r, m = one(["-f", "nohost", "a@b.c"], "Subject: s\n\nb\n")
    t.ok(m and m.sender == "nohost@example.test" and m.header("From") == ["nohost@example.test"],
         "-f user without host: completed", m and (m.sender, m.head))
    r, m = one(["-F", "Full Name", "-f", "s@x.y", "a@b.c"], "Subject: s\n\nb\n")
    t.ok(m and m.header("From") == ['"Full Name" <s@x.y>'], "-F with -f: name and address", m and m.head)
    r, m = one(["-f", "s@x.y", "-F", "Full Name", "a@b.c"], "Subject: s\n\nb\n")
    t.ok(m and m.header("From") == ['"Full Name" <s@x.y>'], "-F after -f: the same", m and m.head)

    # --- options qmail has no use for: accepted, nothing changes -------------
    log = q.path("../xlog")
    ignored = [["-odi"], ["-odb"], ["-odq"], ["-oem"], ["-oep"], ["-oi"], ["-o", "i"], ["-oQ/var/spool"],
               ["-oXunknown"], ["-O", "DeliveryMode=b"], ["-v"], ["-N", "never"], ["-Nsuccess,failure"],
               ["-B", "8BITMIME"], ["-U"], ["-R", "hdrs"], ["-V", "envid1"], ["-X", log], ["-L", "tag"],
               ["-h", "5"], ["-p", "smtp"], ["-e", "m"], ["-Am"], ["-G"], ["-x"], ["-n"], ["-m"], ["-s"],
               ["-d0.1"], ["-E"], ["-bm"], ["-itv"]]
    for opts in ignored:
        r, m = one(opts + ["a@b.c"], "Subject: s\n\nbody\n")
        t.ok(m and m.rcpts == ["a@b.c"] and m.body == b"body\n", "accepted and ignored: " + " ".join(opts),
             r.stderr)
    t.ok(not os.path.exists(log), "-X wrote no log file")

    # --- a lone dot ends nothing ------------------------------------------
    for opts in ([], ["-i"], ["-oi"]):
        r, m = one(opts + ["a@b.c"], "Subject: s\n\nbefore\n.\nafter\n")
        t.ok(m and m.body == b"before\n.\nafter\n", "lone dot is text with %s" % (opts or "no -i"), m and m.body)

    # --- one exec: the process we started is qmail-inject ----------------------
    p.clear()
    pr = subprocess.Popen([q.bin("sendmail"), "a@b.c"], stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    err = pr.communicate(b"Subject: pid\n\nx\n", timeout=60)[1]
    msgs = p.messages()
    p.clear()
    mid = msgs[0].header("Message-ID")[0] if msgs else ""
    t.ok(pr.returncode == 0 and re.fullmatch(r"<[0-9]{14}\.%d\.qmail@example\.test>" % pr.pid, mid),
         "sendmail execs qmail-inject in its own process (Message-ID holds its pid)", (err, mid, pr.pid))

    # --- QMAILQUEUE reaches qmail-inject through sendmail -----------------------
    rec = q.path("../qqrec")
    fake = q.write("fakeqq", "#!/bin/sh\ncat > %s.msg && cat 0<&1 > %s.env\n" % (rec, rec), mode=0o755)
    r, m = sm(["-t", "-f", "s@x.y"], "To: a@b.c\n\nvia fake\n", QMAILQUEUE=fake)
    env_bytes = open(rec + ".env", "rb").read() if os.path.exists(rec + ".env") else None
    msg_bytes = open(rec + ".msg", "rb").read() if os.path.exists(rec + ".msg") else b""
    t.ok(r.returncode == 0 and m == [] and env_bytes == b"Fs@x.y\0Ta@b.c\0\0" and msg_bytes.endswith(b"\n\nvia fake\n"),
         "QMAILQUEUE set by the caller is used for sendmail too", (r.stderr, env_bytes))

    # --- another name for the program, a link elsewhere ----------------------------
    link = q.path("../sendmail-link")
    os.symlink(q.bin("sendmail"), link)
    p.clear()
    r = run([link, "a@b.c"], input="Subject: s\n\nb\n", env=env)
    m = p.messages()
    p.clear()
    t.ok(r.returncode == 0 and len(m) == 1 and m[0].rcpts == ["a@b.c"],
         "a symlink to DIR/bin/sendmail (as /usr/sbin/sendmail) finds its instance", r.stderr)

    # --- -q: qmail-send runs the queue itself ---------------------------------------
    for opts in (["-q"], ["-q15m"], ["-qf"], ["-q", "-v"]):
        r, m = sm(opts, "")
        t.ok(r.returncode == 0 and m == [], "%s: exit 0, nothing queued" % " ".join(opts), r.stderr)

    # --- -bp and mailq: qmail-qread ------------------------------------------------------
    p.clear()
    q.queue("Subject: waiting\n\nx\n", "s@x.y", ["r@a.b"])
    # as if qmail-send had taken it in: info/S/N and local/S/N
    num = int(os.listdir(q.path("queue/todo"))[0])
    q.write("queue/info/%d/%d" % (num % 23, num), b"Fs@x.y\0")
    q.write("queue/local/%d/%d" % (num % 23, num), b"Tr@a.b\0")
    want = run([q.bin("qmail-qread")], env=env)
    r = run([q.bin("sendmail"), "-bp"], env=env)
    t.ok(r.returncode == want.returncode and r.stdout == want.stdout and b"r@a.b" in r.stdout,
         "-bp prints what qmail-qread prints", (r.stdout, r.stderr, want.stdout))
    mq = q.path("../mailq")
    os.symlink(q.bin("sendmail"), mq)
    r = run([mq], env=env)
    t.ok(r.returncode == want.returncode and r.stdout == want.stdout, "invoked as mailq: qmail-qread", r.stderr)
    p.clear()
    for d in ("info", "local"):
        os.unlink(q.path("queue/%s/%d/%d" % (d, num % 23, num)))

    # --- -bs: qmail-smtpd ------------------------------------------------------------------
    if os.path.exists(q.bin("qmail-smtpd")):
        r = run([q.bin("sendmail"), "-bs"], input="QUIT\r\n", env=env)
        t.ok(r.stdout.startswith(b"220 "), "-bs talks SMTP through qmail-smtpd", r.stdout)
    else:
        r = run([q.bin("sendmail"), "-bs"], input="QUIT\r\n", env=env)
        t.ok(r.returncode == 111 and b"qmail-smtpd" in r.stderr and b"not installed" in r.stderr,
             "-bs without qmail-smtpd: a clear error, exit 111", r.stderr)

    # --- refused ---------------------------------------------------------------------------
    nl = q.path("../newaliases")
    os.symlink(q.bin("sendmail"), nl)
    r = run([nl], env=env)
    t.ok(r.returncode == 100 and b"aliases" in r.stderr, "invoked as newaliases: exit 100 with a message", r.stderr)
    for opts, why in ((["-bi"], b"aliases"), (["-bt"], b"not supported"), (["-bd"], b"not supported"),
                      (["-bv", "a@b.c"], b"not supported"), (["-C", "/etc/mail/sendmail.cf", "a@b.c"], b"-C"),
                      (["-Z", "a@b.c"], b"unknown option -Z"), (["a@b.c", "-f"], None), (["-f"], b"needs an argument"),
                      ([], b"no recipients"), (["-i"], b"no recipients")):
        r, m = sm(opts, "Subject: s\n\nb\n")
        if why is None:
            # "-f" after an address is an address (options end at the first address)
            t.ok(r.returncode == 0 and m and sorted(m[0].rcpts) == ["-f@example.test", "a@b.c"],
                 "options end at the first address", (r.stderr, m and m[0].rcpts))
            continue
        t.ok(r.returncode == 100 and m == [] and why in r.stderr and r.stderr.startswith(b"sendmail: "),
             "%s: exit 100, '%s'" % (" ".join(opts) or "no arguments", why.decode()), r.stderr)
t.done()
