"""srslib: an independent SRS reference (Python's hmac, libsrs2's
definition) and the instance set-up the SRS tests share.

    SRS0=HHHH=TT=domain=local@srsdomain, HHHH = base64(HMAC-SHA1(secret,
    lower(TT + domain + local)))[:4], TT = day number mod 1024 in base32;
    SRS1=HHHH=firsthop==opaque@srsdomain, HHHH over lower(firsthop + "=" + opaque).
"""
import base64, grp, hashlib, hmac, os, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "qmail-remote"))
sys.path.insert(0, os.path.join(HERE, "..", "qmail-smtpd"))

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SRSDOMAIN = "srs.example.test"
SINK_IP = "127.0.0.61"


def h(secret, *fields):
    d = "".join(fields).lower().encode()
    return base64.b64encode(hmac.new(secret.encode(), d, hashlib.sha1).digest()).decode()[:4]


def stamp(days_ago=0, now=None):
    day = int((now or time.time()) // 86400) - days_ago
    day %= 1024
    return B32[day >> 5] + B32[day & 31]


def srs0(secret, addr, days_ago=0, domain=SRSDOMAIN):
    local, _, host = addr.rpartition("@")
    tt = stamp(days_ago)
    return "SRS0=%s=%s=%s=%s@%s" % (h(secret, tt, host, local), tt, host, local, domain)


def srs1(secret, srs0addr, domain=SRSDOMAIN):
    local, _, host = srs0addr.rpartition("@")
    opaque = local[4:]
    return "SRS1=%s=%s=%s@%s" % (h(secret, host, opaque), host, opaque, domain)


def configure(q, secrets, port):
    """SRS on for the instance q: srsdomain, the secrets (0640
    root:nofiles in a root instance), virtualdomains and rcpthosts for the
    SRS domain, ~alias/.qmail-srs-default running srsreverse, and every
    remote delivery routed to the sink."""
    q.control("srsdomain", SRSDOMAIN)
    set_secrets(q, secrets)
    q.control("virtualdomains", "%s:srs\n" % SRSDOMAIN)
    q.control("rcpthosts", "%s\n%s\n" % (q.name, SRSDOMAIN))
    q.control("smtproutes", ":[%s]:%d\n" % (SINK_IP, port))
    q.write("alias/.qmail-srs-default", "|%s\n" % q.bin("srsreverse"))


def set_secrets(q, secrets):
    p = q.control("srs", "\n".join(secrets) + "\n")
    if q.mode == "root":
        os.chown(p, 0, grp.getgrnam("nofiles").gr_gid)
        os.chmod(p, 0o640)
    else:
        os.chmod(p, 0o600)
    return p
