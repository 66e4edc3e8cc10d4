"""A small strict parser of the Prometheus text exposition format 0.0.4,
for the qmail-metrics tests: it raises ValueError on anything the format
does not allow (bad names, bad escapes, a sample before its TYPE, a family
split in two, a repeated sample, HELP or TYPE given twice, a missing final
line end, a counter not named *_total), and returns
{family: {"type": t, "help": h, "samples": {(name, labels): value}}}."""
import math, re

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _labels(s):
    out, i = [], 0
    while i < len(s):
        j = s.index("=", i)
        k = s[i:j]
        if not LABEL.match(k) or k.startswith("__"):
            raise ValueError("bad label name %r" % k)
        if s[j + 1:j + 2] != '"':
            raise ValueError("label value not quoted")
        v, p = "", j + 2
        while True:
            if p >= len(s):
                raise ValueError("unterminated label value")
            c = s[p]
            if c == "\\":
                e = s[p + 1:p + 2]
                if e not in ('\\', '"', 'n'):
                    raise ValueError("bad escape \\%s" % e)
                v += "\n" if e == "n" else e
                p += 2
            elif c == '"':
                p += 1
                break
            elif c == "\n":
                raise ValueError("line end in label value")
            else:
                v += c
                p += 1
        if k in dict(out):
            raise ValueError("label %s twice" % k)
        out.append((k, v))
        if p < len(s):
            if s[p] != ",":
                raise ValueError("expected , after label")
            p += 1
        i = p
    return tuple(sorted(out))


def _value(s):
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z", s):
        raise ValueError("bad value %r" % s)
    return float(s)


def parse(text):
    if not text.endswith("\n"):
        raise ValueError("no final line end")
    fam, order, cur = {}, [], None
    for line in text[:-1].split("\n"):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    raise ValueError("bad metric name %r" % name)
                f = fam.setdefault(name, {"type": None, "help": None, "samples": {}})
                if f["samples"]:
                    raise ValueError("%s %s after its samples" % (parts[1], name))
                key = parts[1].lower()
                if f[key] is not None:
                    raise ValueError("%s twice for %s" % (parts[1], name))
                rest = parts[3] if len(parts) > 3 else ""
                if key == "type" and rest not in TYPES:
                    raise ValueError("bad type %r" % rest)
                f[key] = rest
                if name != cur:
                    if name in order:
                        raise ValueError("family %s split" % name)
                    order.append(name)
                    cur = name
            continue
        if not line.strip():
            raise ValueError("empty line")
        m = re.match(r"([^{ ]+)(\{(.*)\})? ([^ ]+)( -?\d+)?\Z", line)
        if not m:
            raise ValueError("bad sample line %r" % line)
        name, labels, value = m.group(1), _labels(m.group(3) or ""), _value(m.group(4))
        if not NAME.match(name):
            raise ValueError("bad metric name %r" % name)
        if name != cur or fam.get(name, {}).get("type") is None:
            raise ValueError("sample %s outside its family (TYPE first)" % name)
        if (name, labels) in fam[name]["samples"]:
            raise ValueError("sample %s%s twice" % (name, labels))
        if fam[name]["type"] == "counter" and (not name.endswith("_total") or value < 0 or math.isnan(value)):
            raise ValueError("bad counter %s" % name)
        fam[name]["samples"][(name, labels)] = value
    return fam


def value(fam, name, **labels):
    return fam[name]["samples"][(name, tuple(sorted(labels.items())))]
