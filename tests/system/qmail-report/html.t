#!/usr/bin/env python3
# qmail-report --html: one self-contained page (no script, no external
# reference) whose four plots are inline SVG. Opened in headless Chromium
# (Debian's chromium + chromium-driver through python3-selenium), each
# plot's path has one point per minute of the log (or per delay class)
# and a non-empty bounding box inside the plot area. The same checks on
# the SVG text are made in Python, so they run even without a browser.
import os, re, shutil, subprocess, sys, tempfile
try:
    import selenium  # noqa: F401
except ImportError:
    # Debian's python3-selenium is for Debian's python3, which may not be
    # the first python3 on PATH
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reportlib import PART1, PART2, PART3, lines, run
from nqtest import Tap

t = Tap()
tmp = tempfile.mkdtemp(prefix="nqt-rhtml-")
# The log runs from 10:00:00 to 11:06:45: 67 one-minute buckets.
MINUTES = 67
WANT = {("deliveries", "success"): MINUTES, ("deliveries", "attempts"): MINUTES,
        ("failures", "failure"): MINUTES, ("failures", "deferral"): MINUTES,
        ("concurrency", "local"): MINUTES, ("concurrency", "remote"): MINUTES,
        ("delays", "messages"): 16}
PLOT_X0, PLOT_X1 = 64, 760 - 16          # svgplot's plot area


def points(d):
    return len(re.findall(r"[ML]\s*(-?[\d.]+) (-?[\d.]+)", d))


try:
    log = os.path.join(tmp, "log")
    with open(log, "w") as f:
        f.write(lines(PART1 + PART2 + PART3, "tai"))
    page = os.path.join(tmp, "report.html")
    r = run(["--html", page, log])
    t.eq(r.returncode, 0, "exit 0", r.stderr)
    t.ok(r.stdout.startswith(b"qmail-report: 2024-01-02 10:00:00 to 2024-01-02 11:06:45"), "text still on stdout")
    html = open(page).read()
    t.ok("<script" not in html.lower() and not re.search(r"(src|href)=", html), "no script, no external reference")
    for title in ("Overall", "Per hour", "Top failure reasons", "Top deferral reasons", "Top deferring destinations",
                  "Largest senders", "Recipients' domains"):
        t.ok("<h2>%s</h2>" % title.replace("'", "&#39;") in html, "page has the table " + title)
    t.ok("<td>Sorry,_I_couldn&#39;t_find_any_host_named_d.example._(#5.1.2)</td>" in html.replace('<td class="l">', "<td>"),
         "failure reason escaped in the page")

    # the SVG text itself
    got = {}
    for m in re.finditer(r'<svg [^>]*id="([^"]+)"(.*?)</svg>', html, re.S):
        for p in re.finditer(r'<path class="series"[^>]*data-series="([^"]+)" d="([^"]*)"', m.group(2)):
            got[(m.group(1), p.group(1))] = points(p.group(2))
    t.eq(got, WANT, "SVG paths: points per series (parsed)")

    # in a real browser
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        have = os.path.exists("/usr/bin/chromedriver") and os.path.exists("/usr/bin/chromium")
    except ImportError:
        have = False
    if not have:
        t.skip("browser checks", "chromium, chromium-driver or python3-selenium not installed")
    else:
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--user-data-dir=" + os.path.join(tmp, "chromium-profile")):
            opts.add_argument(a)
        drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        try:
            drv.get("file://" + page)
            res = drv.execute_script("""
                var out = [];
                document.querySelectorAll('svg.plot').forEach(function (svg) {
                  svg.querySelectorAll('path.series').forEach(function (p) {
                    var b = p.getBBox();
                    var d = p.getAttribute('d');
                    out.push([svg.id, p.dataset.series, (d.match(/[ML]/g) || []).length,
                              p.getTotalLength(), b.x, b.y, b.width, b.height]);
                  });
                });
                return out;""")
            seen = {}
            bad = []
            for sid, name, npts, length, x, y, w, h in res:
                seen[(sid, name)] = npts
                if not (w > 0 and h > 0 and length > 0):
                    bad.append((sid, name, "empty box", w, h))
                if x < PLOT_X0 - 0.5 or x + w > PLOT_X1 + 0.5 or y < 0 or y + h > 280:
                    bad.append((sid, name, "outside the plot", x, y, w, h))
                if sid != "delays" and abs(w - (PLOT_X1 - PLOT_X0)) > 0.5:
                    bad.append((sid, name, "does not span the time axis", w))
            t.eq(seen, WANT, "browser: points per series")
            t.eq(bad, [], "browser: every path has a non-empty bounding box inside the plot area")
            t.eq(drv.execute_script("return document.querySelectorAll('svg.plot').length"), 4, "browser: four plots")
        finally:
            drv.quit()
finally:
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
