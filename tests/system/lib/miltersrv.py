#!/usr/bin/env python3
"""miltersrv: a small scripted milter (the filter side of the Sendmail
milter protocol, version 6) for the tests of qmail-smtpd's milter client.

Each stage answers as its script says, and everything the MTA sends is
recorded (one JSON object per line in the log file) so that a test can
check what the milter saw: macros, header fields, body, the order.

    from miltersrv import MilterServer
    with MilterServer({"rcpt": {"bad@example.test": "reject"}}, log=path) as m:
        ... control/milters gets "inet:127.0.0.1:%d" % m.port ...

or as a program (the C unit tests use it):

    miltersrv.py SCRIPT.json LOGFILE      # prints the port, then serves

A script is a dict. Keys:
  version, actions, steps   what the milter answers to OPTNEG (default 6,
                            ADDHDRS|CHGHDRS|ADDRCPT|DELRCPT|QUARANTINE|CHGFROM, 0)
  optneg                    a misbehaviour instead of the answer (below)
  connect helo mail rcpt data header eoh body eom
                            the answer at that stage: a spec, or a dict from
                            the argument (address, helo name, header name) to
                            a spec with "*" for the rest
  eom_actions               changes sent before the end-of-message verdict:
                            ["addheader", name, value]
                            ["insheader", index, name, value]
                            ["chgheader", index, name, value]
                            ["addrcpt", addr] ["addrcpt_par", addr, args]
                            ["delrcpt", addr] ["chgfrom", addr]
                            ["quarantine", reason] ["replbody", text]
                            ["raw", command_char, data_string]
A spec: "continue" (the default), "accept", "reject", "tempfail",
"discard", "skip", "reply:550 5.7.1 text", and misbehaviours:
"garbage" (bytes that are no packet), "huge" (a length of 2 GB),
"close" (hang up), "hang" (say nothing for a minute), "progress" (ten
progress packets, then continue), "unknown" (an unknown reply command).
"""
import json, os, socket, struct, sys, threading, time

SMFIF_ADDHDRS, SMFIF_CHGBODY, SMFIF_ADDRCPT, SMFIF_DELRCPT = 0x01, 0x02, 0x04, 0x08
SMFIF_CHGHDRS, SMFIF_QUARANTINE, SMFIF_CHGFROM, SMFIF_ADDRCPT_PAR = 0x10, 0x20, 0x40, 0x80
DEFAULT_ACTIONS = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_QUARANTINE | SMFIF_CHGFROM

STAGES = {"C": "connect", "H": "helo", "M": "mail", "R": "rcpt", "T": "data",
          "L": "header", "N": "eoh", "B": "body", "E": "eom"}
NR = {"C": 0x1000, "H": 0x2000, "M": 0x4000, "R": 0x8000, "T": 0x10000,
      "L": 0x80, "N": 0x40000, "B": 0x80000}


def pkt(cmd, data=b""):
    if isinstance(cmd, str):
        cmd = cmd.encode()
    return struct.pack(">I", len(data) + 1) + cmd + data


def z(*parts):
    out = b""
    for p in parts:
        out += (p.encode() if isinstance(p, str) else p) + b"\0"
    return out


class Conn:
    count = 0

    def __init__(self, srv, sock):
        self.srv, self.s, self.f = srv, sock, sock.makefile("rb")
        self.steps = 0
        Conn.count += 1
        self.id = Conn.count

    def record(self, **kw):
        kw["conn"] = self.id
        self.srv.record(kw)

    def read(self):
        h = self.f.read(4)
        if len(h) < 4:
            return None, None
        n = struct.unpack(">I", h)[0]
        d = self.f.read(n)
        if len(d) < n or n == 0:
            return None, None
        return chr(d[0]), d[1:]

    def send(self, b):
        self.s.sendall(b)

    def spec_for(self, stage, arg):
        v = self.srv.script.get(stage, "continue")
        if isinstance(v, dict):
            a = (arg or "").strip("<>").lower()
            v = v.get(a, v.get("*", "continue"))
        return v

    def misbehave(self, spec):
        """True when spec was a misbehaviour (the connection may be over)."""
        if spec == "garbage":
            # a packet with a command no milter sends, then noise
            self.send(b"\x00\x00\x00\x04?\x01\x02\x03GARBAGE\r\n\xff\xfe")
            time.sleep(0.5)
            return True
        if spec == "huge":
            self.send(struct.pack(">I", 0x7fffffff) + b"c")
            time.sleep(0.5)
            return True
        if spec == "close":
            self.s.shutdown(socket.SHUT_RDWR)
            return True
        if spec == "hang":
            time.sleep(60)
            return True
        if spec == "unknown":
            self.send(pkt("Z"))
            return True
        return False

    def answer(self, spec):
        if self.misbehave(spec):
            return
        if spec == "progress":
            for _ in range(10):
                self.send(pkt("p"))
            spec = "continue"
        if spec.startswith("reply:"):
            self.send(pkt("y", z(spec[6:])))
        else:
            self.send(pkt({"continue": "c", "accept": "a", "reject": "r", "tempfail": "t",
                           "discard": "d", "skip": "s"}[spec]))

    def eom_actions(self):
        for a in self.srv.script.get("eom_actions", []):
            k = a[0]
            if k == "addheader":
                self.send(pkt("h", z(a[1], a[2])))
            elif k == "insheader":
                self.send(pkt("i", struct.pack(">I", a[1]) + z(a[2], a[3])))
            elif k == "chgheader":
                self.send(pkt("m", struct.pack(">I", a[1]) + z(a[2], a[3])))
            elif k == "addrcpt":
                self.send(pkt("+", z(a[1])))
            elif k == "addrcpt_par":
                self.send(pkt("2", z(a[1], a[2])))
            elif k == "delrcpt":
                self.send(pkt("-", z(a[1])))
            elif k == "chgfrom":
                self.send(pkt("e", z(a[1])))
            elif k == "quarantine":
                self.send(pkt("q", z(a[1])))
            elif k == "replbody":
                self.send(pkt("b", a[1].encode()))
            elif k == "raw":
                self.send(pkt(a[1], a[2].encode("latin-1")))

    def run(self):
        sc = self.srv.script
        while True:
            cmd, d = self.read()
            if cmd is None:
                self.record(cmd="EOF")
                return
            if cmd == "O":
                ver, act, steps = struct.unpack(">III", d[:12])
                self.record(cmd="O", version=ver, actions=act, steps=steps)
                if self.misbehave(sc.get("optneg", "")):
                    return
                self.steps = sc.get("steps", 0)
                self.send(pkt("O", struct.pack(">III", sc.get("version", 6),
                                               sc.get("actions", DEFAULT_ACTIONS), self.steps)))
                continue
            if cmd == "D":
                parts = d[1:].split(b"\0")
                macros = {}
                for i in range(0, len(parts) - 1, 2):
                    macros[parts[i].decode("latin-1")] = parts[i + 1].decode("latin-1")
                self.record(cmd="D", stage=chr(d[0]), macros=macros)
                continue
            if cmd in ("A", "Q"):
                self.record(cmd=cmd)
                if cmd == "Q":
                    return
                continue
            arg = None
            if cmd == "C":
                host, rest = d.split(b"\0", 1)
                fam = chr(rest[0])
                port = struct.unpack(">H", rest[1:3])[0] if fam != "U" else 0
                addr = rest[3:].rstrip(b"\0").decode() if fam != "U" else ""
                self.record(cmd="C", host=host.decode("latin-1"), family=fam, port=port, addr=addr)
            elif cmd in ("H", "M", "R"):
                args = [x.decode("latin-1") for x in d.split(b"\0")[:-1]]
                arg = args[0] if args else ""
                self.record(cmd=cmd, args=args)
            elif cmd == "L":
                name, value = d.split(b"\0")[:2]
                arg = name.decode("latin-1")
                self.record(cmd="L", name=arg, value=value.decode("latin-1"))
            elif cmd == "B":
                self.record(cmd="B", data=d.decode("latin-1"))
            else:
                self.record(cmd=cmd)
            stage = STAGES.get(cmd)
            if stage is None:
                continue
            if cmd == "E":
                spec = self.spec_for("eom", None)
                if not self.misbehave(spec):
                    self.eom_actions()
                    self.answer(spec)
                continue
            if NR.get(cmd, 0) & self.steps:
                continue
            spec = self.spec_for(stage, arg)
            self.answer(spec)
            if spec in ("garbage", "huge", "close", "hang", "unknown"):
                return


class MilterServer:
    def __init__(self, script=None, log=None, unix=None):
        self.script = script or {}
        self.log = log
        self.lock = threading.Lock()
        self.events = []
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix)
            os.chmod(unix, 0o777)
            self.port = None
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.stopping = False

    def record(self, ev):
        with self.lock:
            self.events.append(ev)
            if self.log:
                with open(self.log, "a") as f:
                    f.write(json.dumps(ev) + "\n")

    def serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.stopping:
                c.close()
                return
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    def handle(self, c):
        try:
            Conn(self, c).run()
        except (OSError, ValueError, KeyError, struct.error):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def start(self):
        threading.Thread(target=self.serve, daemon=True).start()
        return self

    def stop(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def seen(self, cmd=None, conn=None):
        with self.lock:
            return [e for e in self.events if (cmd is None or e["cmd"] == cmd) and (conn is None or e["conn"] == conn)]

    def session(self, cmd="M"):
        """The events of the last connection that got as far as cmd."""
        with self.lock:
            ids = [e["conn"] for e in self.events if e["cmd"] == cmd]
        return self.seen(conn=ids[-1]) if ids else []

    def clear(self):
        with self.lock:
            self.events = []


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        script = json.load(f)
    srv = MilterServer(script, log=sys.argv[2] if len(sys.argv) > 2 else None)
    print(srv.port, flush=True)
    srv.serve()
