#!/usr/bin/env python3
# qmail-tlsrpt (RFC 8460): from a day's counts in queue/mtasts/tlsrpt.DAY
# and the cached MTA-STS policy, the aggregate JSON report, printed with
# -n and parsed here (organization, date range, policy with its lines and
# mx patterns, summary, grouped failure details); mailed through the
# queue to the mailto: rua of _smtp._tls.DOMAIN (dnsmasq) as a
# multipart/report (report-type tlsrpt, application/tlsrpt+json in
# base64) that lands in a local Maildir; domains with only an https: rua
# or without a TLS-RPT record get nothing; after mailing the counts file
# becomes tlsrpt.DAY.sent and a second run sends nothing.
# smoke
import email, email.policy, glob, json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stslib import policy
from nqtest import Tap, Instance, run
from remotelib import Dns

t = Tap()
DAY = "2026-11-28"
COUNTS = """v1 sts sts.test success mx.sts.test 127.0.0.90 127.0.0.1
v1 sts sts.test success mx.sts.test 127.0.0.90 127.0.0.1
v1 sts sts.test success mx2.sts.test 127.0.0.91 -
v1 sts sts.test validation-failure evil.test 127.0.0.92 127.0.0.1
v1 sts sts.test validation-failure evil.test 127.0.0.92 127.0.0.1
v1 sts sts.test starttls-not-supported mx.sts.test 127.0.0.90 127.0.0.1
v1 no-policy-found sts.test sts-webpki-invalid - - -
v1 sts https.test success mx.https.test 127.0.0.93 -
v1 sts norpt.test success mx.norpt.test 127.0.0.94 -
this line is not a count
v1 sts sts.test success mx.sts.test 127.0.0.90"""     # cut short: not counted
POLICY = policy(mx=("mx.sts.test", "*.sts.test"))
DNS = ["txt-record=_smtp._tls.sts.test,v=TLSRPTv1; rua=mailto:tlsrpt@example.test",
       "txt-record=_smtp._tls.https.test,v=TLSRPTv1; rua=https://reports.https.test/v1"]

with Instance(t, name="example.test") as q, Dns(DNS) as d:
    q.control("dnsservers", d.server_line())
    q.write("alias/.qmail-tlsrpt", "./Maildir/\n")
    counts = q.path("queue/mtasts/tlsrpt." + DAY)
    q.write("queue/mtasts/tlsrpt." + DAY, COUNTS, owner="qmailr" if q.mode == "root" else None)
    q.write("queue/mtasts/policy.sts.test", "%d 1\n%s" % (int(time.time()), POLICY),
            owner="qmailr" if q.mode == "root" else None)

    r = run([q.bin("qmail-tlsrpt"), "-n", DAY])
    out = r.stdout.decode()
    t.ok(r.returncode == 0 and len(out.splitlines()) == 1, "-n: one report (only sts.test has a mailto: rua)", r)
    err = r.stderr.decode()
    t.ok("https.test: only https: report addresses" in err and "norpt.test: no TLS-RPT record" in err,
         "https-only and record-less domains skipped, with a word on stderr", err)
    try:
        rep = json.loads(out)
    except ValueError as e:
        rep = {}
        t.diag("JSON: %s" % e)
    t.ok(rep.get("organization-name") == "example.test" and rep.get("contact-info") == "postmaster@example.test",
         "organization-name and contact-info", rep)
    t.eq(rep.get("date-range"), {"start-datetime": DAY + "T00:00:00Z", "end-datetime": DAY + "T23:59:59Z"}, "date-range")
    t.ok(isinstance(rep.get("report-id"), str) and DAY in rep["report-id"], "a report-id", rep.get("report-id"))
    pols = {p["policy"]["policy-type"]: p for p in rep.get("policies", [])}
    sts = pols.get("sts", {})
    t.eq(sts.get("policy"), {"policy-type": "sts", "policy-domain": "sts.test",
                             "policy-string": [l for l in POLICY.split("\r\n") if l],
                             "mx-host": ["mx.sts.test", "*.sts.test"]}, "the sts policy: domain, lines, mx patterns")
    t.eq(sts.get("summary"), {"total-successful-session-count": 3, "total-failure-session-count": 3},
         "summary: 3 successes, 3 failures (garbage and the cut line not counted)")
    det = sorted(sts.get("failure-details", []), key=lambda x: x["result-type"])
    t.eq(det, [{"result-type": "starttls-not-supported", "sending-mta-ip": "127.0.0.1", "receiving-mx-hostname": "mx.sts.test",
                "receiving-ip": "127.0.0.90", "failed-session-count": 1},
               {"result-type": "validation-failure", "sending-mta-ip": "127.0.0.1", "receiving-mx-hostname": "evil.test",
                "receiving-ip": "127.0.0.92", "failed-session-count": 2}], "failure-details grouped and counted")
    npf = pols.get("no-policy-found", {})
    t.ok(npf.get("summary") == {"total-successful-session-count": 0, "total-failure-session-count": 1} and
         npf.get("failure-details") == [{"result-type": "sts-webpki-invalid", "failed-session-count": 1}],
         "a failed policy fetch reported as no-policy-found", npf)
    t.ok(os.path.exists(counts), "-n keeps the counts")

    # by mail
    q.start()
    r = run([q.bin("qmail-tlsrpt"), DAY])
    t.ok(r.returncode == 0, "qmail-tlsrpt DAY exits 0", r)
    box = q.path("alias/Maildir/new")
    t.ok(q.wait(lambda: len(os.listdir(box)) == 1, 20), "the report was delivered to tlsrpt@example.test", q.logtext())
    files = glob.glob(box + "/*")
    m = email.message_from_bytes(open(files[0], "rb").read(), policy=email.policy.default) if files else None
    if m is None:
        t.ok(False, "message")
    else:
        t.ok(m["TLS-Report-Domain"] == "sts.test" and m["TLS-Report-Submitter"] == "example.test", "TLS-Report-* fields", str(m))
        t.ok(m["Subject"].startswith("Report Domain: sts.test Submitter: example.test Report-ID: <"), "subject as RFC 8460 5.3", m["Subject"])
        t.ok(m.get_content_type() == "multipart/report" and m.get_param("report-type") == "tlsrpt", "multipart/report; report-type=tlsrpt")
        parts = [p for p in m.iter_parts()]
        att = [p for p in parts if p.get_content_type() == "application/tlsrpt+json"]
        t.ok(len(parts) == 2 and parts[0].get_content_type() == "text/plain" and len(att) == 1, "a text part and the JSON part")
        body = json.loads(att[0].get_payload(decode=True)) if att else None
        t.eq(body, rep, "the mailed JSON is the report -n printed")
        fn = att[0].get_filename() if att else ""
        t.ok(fn.startswith("example.test!sts.test!") and fn.endswith(".json"), "filename submitter!domain!begin!end.json", fn)
    t.ok(not os.path.exists(counts) and os.path.exists(counts + ".sent"), "the counts file became tlsrpt.DAY.sent")
    r = run([q.bin("qmail-tlsrpt"), DAY])
    time.sleep(1)
    t.ok(r.returncode == 0 and len(os.listdir(box)) == 1, "a second run sends nothing", r)
    r = run([q.bin("qmail-tlsrpt"), "2026-13-01"])
    t.ok(r.returncode == 100, "a bad day is a usage error", r)
    q.stop()
t.done()
