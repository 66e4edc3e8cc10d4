#!/usr/bin/env python3
# qmail-pw2u on a sample passwd file (passwd.sample beside this test, never
# /etc/passwd) with homes the test creates: qmail-getpw's rules by default,
# the options -u -h -H -o -/ -c -C, and users/include, exclude, mailnames,
# subusers and append; the output compiles with qmail-newu.
import os, pwd, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import nqtest

t = nqtest.Tap()
if not nqtest.IS_ROOT:
    t.skip("qmail-pw2u", "needs root to give the sample homes their owners")
    t.done()

HERE = os.path.dirname(os.path.abspath(__file__))

with nqtest.Instance(t) as q:
    al = pwd.getpwnam("alias")
    homes = os.path.join(q.base, "homes")
    os.mkdir(homes)
    for name, uid in (("joe", 2001), ("ann", 2002), ("bob", 2003), ("stolen", 2001), ("carl", 2007)):
        os.mkdir(os.path.join(homes, name), 0o700)
        os.chown(os.path.join(homes, name), uid, 100)
    with open(os.path.join(HERE, "passwd.sample")) as f:
        sample = f.read().replace("@HOMES@", homes).replace("@AUID@", str(al.pw_uid)).replace("@AGID@", str(al.pw_gid))
    A = "%d:%d:%s" % (al.pw_uid, al.pw_gid, q.path("alias"))
    H = homes

    def pw2u(args=(), text=None):
        r = nqtest.run([q.bin("qmail-pw2u")] + list(args), input=sample if text is None else text)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def users(name, text):
        q.write("users/" + name, text)

    base = ("+:alias:{A}:-::\n=alias:alias:{A}:::\n+alias-:alias:{A}:-::\n"
            "=joe:joe:2001:100:{H}/joe:::\n+joe-:joe:2001:100:{H}/joe:-::\n"
            "=ann:ann:2002:100:{H}/ann:::\n+ann-:ann:2002:100:{H}/ann:-::\n"
            "=carl:carl:2007:101:{H}/carl:::\n+carl-:carl:2007:101:{H}/carl:-::\n.\n").format(A=A, H=H)
    t.eq(pw2u(), (0, base, ""),
         "default: skips uid 0, uppercase, missing or foreign homes and malformed lines; alias home is DIR/alias")
    t.eq(pw2u(["-o", "-U"]), (0, base, ""), "-o and -U are the defaults")

    rc, out, err = pw2u(["-u"])
    t.ok(rc == 0 and "=Bob:Bob:2003:100:%s/bob:::\n+Bob-:Bob:2003:100:%s/bob:-::\n" % (H, H) in out,
         "-u allows uppercase names", out)
    rc, out, err = pw2u(["-H"])
    t.ok(rc == 0 and "=gone:gone:2004:100:%s/gone:::\n" % H in out and "=stolen:stolen:2005:100:%s/stolen:::\n" % H in out
         and "=daemon:daemon:1:1:/usr/sbin:::\n" in out, "-H does not look at homes", out)
    rc, out, err = pw2u(["-h"])
    t.ok(rc == 111 and "gone" in err, "-h stops at a missing home", (rc, err))

    rc, out, err = pw2u(["-/"])
    t.ok(rc == 0 and out.startswith("+:alias:%s:-/::\n" % A) and "+joe-:joe:2001:100:%s/joe:-/::\n" % H in out
         and "=joe:joe:2001:100:%s/joe:::\n" % H in out, "-/ makes the dash -/", out)
    rc, out, err = pw2u(["-c."])
    t.ok(rc == 0 and "+joe.:joe:2001:100:%s/joe:-::\n" % H in out and "+joe-:" not in out, "-c. breaks at '.'", out)
    rc, out, err = pw2u(["-C"])
    t.eq((rc, out), (0, "+:alias:{A}:-::\n=alias:alias:{A}:::\n=joe:joe:2001:100:{H}/joe:::\n"
                        "=ann:ann:2002:100:{H}/ann:::\n=carl:carl:2007:101:{H}/carl:::\n.\n".format(A=A, H=H)),
         "-C: no user-extension wildcards")
    rc, out, err = pw2u(["-x"])
    t.ok(rc == 100 and "usage" in err, "unknown option: usage, exit 100", err)

    users("include", "alias\njoe\nann\ncarl\n# a comment\n")
    users("exclude", "carl\n")
    users("mailnames", "joe:joseph:jo\nann:\n")
    users("subusers", "sub:joe:pre:\nann2:ann:x:\nbroken:line\n")
    users("append", "=extra:joe:2001:100:%s/joe:::" % H)
    want = ("+:alias:{A}:-::\n=alias:alias:{A}:::\n+alias-:alias:{A}:-::\n"
            "=joseph:joe:2001:100:{H}/joe:::\n+joseph-:joe:2001:100:{H}/joe:-::\n"
            "=jo:joe:2001:100:{H}/joe:::\n+jo-:joe:2001:100:{H}/joe:-::\n"
            "=sub:joe:2001:100:{H}/joe:-:pre:\n+sub-:joe:2001:100:{H}/joe:-:pre-:\n"
            "=ann2:ann:2002:100:{H}/ann:-:x:\n+ann2-:ann:2002:100:{H}/ann:-:x-:\n"
            "=extra:joe:2001:100:{H}/joe:::\n.\n").format(A=A, H=H)
    rc, out, err = pw2u()
    t.eq((rc, out), (0, want), "include, exclude, mailnames (joe renamed, ann none), subusers, append")

    q.write("users/assign", out)
    r = nqtest.run([q.bin("qmail-newu")])
    t.ok(r.returncode == 0, "the output compiles with qmail-newu", r.stderr)

    users("subusers", "sub:carl:pre:\n")
    rc, out, err = pw2u()
    t.ok(rc == 111 and "carl" in err and "subuser" in err, "subuser of a user not kept: exit 111", (rc, err))
    for n in ("include", "exclude", "mailnames", "subusers", "append"):
        os.unlink(q.path("users/" + n))

    # No alias account in the input: the catch-all comes from users/ids.
    noalias = "".join(l for l in sample.splitlines(True) if not l.startswith("alias:"))
    rc, out, err = pw2u(text=noalias)
    t.eq((rc, out), (0, ("=joe:joe:2001:100:{H}/joe:::\n+joe-:joe:2001:100:{H}/joe:-::\n"
                         "=ann:ann:2002:100:{H}/ann:::\n+ann-:ann:2002:100:{H}/ann:-::\n"
                         "=carl:carl:2007:101:{H}/carl:::\n+carl-:carl:2007:101:{H}/carl:-::\n"
                         "+:alias:{A}:-::\n.\n").format(A=A, H=H)),
         "no alias account: catch-all from users/ids")
    rc, out, err = pw2u(text="")
    t.eq((rc, out), (0, "+:alias:%s:-::\n.\n" % A), "empty input: only the catch-all")
    rc, out, err = pw2u(text="joe:x:2001:100::%s/joe:/bin/sh" % H)
    t.ok(rc == 0 and out.startswith("=joe:joe:2001:100:%s/joe:::\n" % H), "last line without a newline", out)
    rc, out, err = pw2u(text="x" * 9000 + "\n")
    t.ok(rc == 100 and "line 1" in err, "over-long input line: exit 100", err)
t.done()
