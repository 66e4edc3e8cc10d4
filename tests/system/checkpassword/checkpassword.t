#!/usr/bin/env python3
# checkpassword: the checkpassword interface (login, password, timestamp
# on descriptor 3). System users are checked against the shadow file:
# run as root it becomes the user (uid, groups, HOME, cwd) and runs the
# program; run by qmaild it works through its set-gid shadow bit and
# drops that group before running anything. Wrong passwords, unknown and
# locked users exit 1; malformed input 2. Virtual users come from
# users/vpasswd, managed by qmail-vuser (add, replace, del, list; the file
# root:shadow 0640, hashes never in clear).
import grp, os, pwd, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-smtpd"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from smtpdlib import prepare
from nqtest import Tap, Instance, TestUser, run, IS_ROOT, unique_user

t = Tap()


def check(q, login, password, prog=("/bin/sh", "-c", "echo $USER:$HOME:$(id -u):$(id -g):$(pwd)"),
          user=None, data=None):
    """Run DIR/bin/checkpassword; returns (exit code, stdout text)."""
    r, w = os.pipe()
    os.write(w, data if data is not None else (login + "\0" + password + "\0<1.2@x>\0").encode())
    os.close(w)
    pre = None
    if user:
        pw = pwd.getpwnam(user)

        def pre():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    p = subprocess.run([q.bin("checkpassword")] + list(prog), pass_fds=(r,), capture_output=True,
                       preexec_fn=lambda: (os.dup2(r, 3), pre and pre()), timeout=30)
    os.close(r)
    return p.returncode, p.stdout.decode().strip(), p.stderr.decode()


if not IS_ROOT:
    t.skip("checkpassword", "needs root for shadow users")
    t.done()

u = TestUser(unique_user("cp"))
try:
    subprocess.run(["chpasswd"], input=("%s:right-pass\n" % u.name).encode(), check=True)
    with Instance(t, name="example.test") as q:
        prepare(q)
        st = os.stat(q.bin("checkpassword"))
        t.ok(st.st_mode & 0o2000 and st.st_gid == grp.getgrnam("shadow").gr_gid, "installed set-gid shadow")
        code, out, err = check(q, u.name, "right-pass")
        t.eq(code, 0, "root: right password: 0", err)
        t.eq(out, "%s:%s:%d:%d:%s" % (u.name, u.home, u.uid, u.gid, u.home),
             "root: ran the program as the user, in the home, with USER and HOME")
        t.eq(check(q, u.name, "wrong-pass")[0], 1, "wrong password: 1")
        t.eq(check(q, "nosuchuser", "x")[0], 1, "unknown user: 1")
        t.eq(check(q, "root", "x")[0], 1, "root never logs in: 1")
        t.eq(check(q, "", "", data=b"no nul bytes")[0], 2, "malformed input: 2")

        code, out, err = check(q, u.name, "right-pass", user="qmaild")
        qd = pwd.getpwnam("qmaild")
        t.eq(code, 0, "as qmaild (set-gid shadow): right password: 0", err)
        t.ok(out.endswith(":%d:%d:%s" % (qd.pw_uid, qd.pw_gid, out.split(":")[-1])) and out.split(":")[3] == str(qd.pw_gid),
             "as qmaild: the program runs as qmaild without the shadow group", out)
        t.eq(check(q, u.name, "wrong-pass", user="qmaild")[0], 1, "as qmaild: wrong password: 1")
        os.chmod(q.bin("checkpassword"), 0o755)
        code, out, err = check(q, u.name, "right-pass", user="qmaild")
        t.eq(code, 111, "without the set-gid bit, as qmaild: 111 (cannot read shadow)", err)
        t.ok("shadow" in err, "and says why", err)
        prepare(q)
        subprocess.run(["usermod", "-L", u.name], check=True, capture_output=True)
        t.eq(check(q, u.name, "right-pass")[0], 1, "locked account: 1")
        subprocess.run(["usermod", "-U", u.name], check=True, capture_output=True)

        # Virtual users.
        r = run([q.bin("qmail-vuser"), "add", "Joe@Virt.Test"], input="v-pass\n")
        t.eq(r.returncode, 0, "qmail-vuser add", r.stderr)
        vp = q.path("users/vpasswd")
        st = os.stat(vp)
        t.ok(st.st_mode & 0o777 == 0o640 and st.st_gid == grp.getgrnam("shadow").gr_gid,
             "users/vpasswd is 0640 group shadow", oct(st.st_mode))
        text = open(vp).read()
        t.ok("v-pass" not in text and text.startswith("Joe@Virt.Test:$"), "only a hash is stored", text)
        code, out, err = check(q, "joe@virt.test", "v-pass", user="qmaild")
        t.eq(code, 0, "virtual user (login case ignored), as qmaild: 0", err)
        t.ok(out.startswith("Joe@Virt.Test:"), "USER is the login", out)
        t.eq(check(q, "joe@virt.test", "nope", user="qmaild")[0], 1, "virtual user, wrong password: 1")
        t.eq(check(q, "joe@virt.test", "v-pass")[0], 1, "root: a virtual user without an account is refused")
        r = run([q.bin("qmail-vuser"), "add", "joe@virt.test", u.name, u.home], input="new-pass\n")
        t.eq(r.returncode, 0, "qmail-vuser add replaces the entry, now with an account")
        t.eq(open(vp).read().count("\n"), 1, "one line for the login")
        t.eq(check(q, "joe@virt.test", "v-pass")[0], 1, "old password refused")
        code, out, err = check(q, "joe@virt.test", "new-pass")
        t.eq(code, 0, "root: virtual user with an account: 0", err)
        t.ok(out.split(":")[2] == str(u.uid) and out.endswith(":" + u.home), "runs as the account, in the home", out)
        r = run([q.bin("qmail-vuser"), "add", "ann@virt.test"], input="a\n")
        r = run([q.bin("qmail-vuser"), "list"])
        t.eq(r.stdout.decode(), "joe@virt.test\nann@virt.test\n", "qmail-vuser list")
        r = run([q.bin("qmail-vuser"), "del", "joe@virt.test"])
        t.eq(r.returncode, 0, "qmail-vuser del")
        t.eq(check(q, "joe@virt.test", "new-pass")[0], 1, "deleted user refused")
        t.eq(run([q.bin("qmail-vuser"), "del", "joe@virt.test"]).returncode, 100, "deleting twice: 100")
        t.eq(run([q.bin("qmail-vuser"), "add", "bad:login"], input="x\n").returncode, 100, "a login with ':': 100")
        t.eq(run([q.bin("qmail-vuser"), "add", "e@x.test"], input="\n").returncode, 100, "an empty password: 100")
finally:
    u.remove()
t.done()
