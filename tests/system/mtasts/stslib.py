"""stslib: an HTTPS server for MTA-STS policies in the tests.

    web = Https("127.0.0.80", cert_pem)          # port 443 (root only)
    web.policy("version: STSv1\\nmode: enforce\\nmx: mx.sts.test\\nmax_age: 86400\\n")
    web.policy(text, host="mta-sts.other.test")   # by Host header
    web.start() ... web.requests -> [(host, path), ...]
    web.stop()

The server answers GET /.well-known/mta-sts.txt with what the test set:
status, Content-Type, body, extra headers (a Location for a redirect).
It listens on port 443 of its own loopback address, because the URL of a
policy is fixed (https://mta-sts.DOMAIN/...) and qmail-remote takes the
address from our DNS (dnsmasq) and the port from the URL.
"""
import http.server, os, ssl, sys, threading, socket

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-remote"))

WELL_KNOWN = "/.well-known/mta-sts.txt"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server.owner
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        with srv.lock:
            srv.requests.append((host, self.path))
            status, ctype, body, headers = srv.answers.get(host, srv.answer)
        if self.path != WELL_KNOWN:
            status, ctype, body, headers = 404, "text/plain", b"not found\n", {}
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class Https:
    def __init__(self, host, cert, port=443):
        self.host, self.port, self.cert = host, port, cert
        self.requests = []
        self.lock = threading.Lock()
        self.answer = (404, "text/plain", b"", {})
        self.answers = {}
        self.httpd = None

    def policy(self, text, status=200, ctype="text/plain; charset=utf-8", headers=None, host=None):
        """What GET answers (for the Host header host, or by default)."""
        a = (status, ctype, text.encode() if isinstance(text, str) else text, headers or {})
        with self.lock:
            if host:
                self.answers[host] = a
            else:
                self.answer = a

    def start(self):
        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass    # a client that hangs up (a policy too big, a bad certificate) is expected
        self.httpd = Server((self.host, self.port), _Handler)
        self.httpd.owner = self
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def count(self, host=None):
        with self.lock:
            return len([r for r in self.requests if host is None or r[0] == host])

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


def policy(mode="enforce", mx=("mx.sts.test",), max_age=86400):
    return "version: STSv1\r\nmode: %s\r\n%smax_age: %d\r\n" % (mode, "".join("mx: %s\r\n" % m for m in mx), max_age)


def sts_records(domain, web_ip, sts_id="1", rua=None):
    """dnsmasq options for a domain with an MTA-STS policy served at web_ip."""
    r = ["txt-record=_mta-sts.%s,v=STSv1; id=%s;" % (domain, sts_id),
         "host-record=mta-sts.%s,%s" % (domain, web_ip)]
    if rua:
        r.append("txt-record=_smtp._tls.%s,v=TLSRPTv1; rua=%s" % (domain, rua))
    return r
