#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An HTTP reverse proxy that injects faults, for the pull tests.

    faultproxy.py --upstream URL --control FILE --log FILE --port-file FILE
                  [--upstream-ca CA] [--listen ADDR] [--tls-cert C --tls-key K]

Forwards every request to URL (http:// or https://, e.g. a docker-registry)
with its headers, Host and Range included, and relays the answer. The
control file, re-read on every request (missing or empty: no faults), holds
rules; the first rule that matches a request decides its fault:

  {"rules": [
    {"path": "/blobs/sha256:", "method": "GET", "first": 1, "drop_after": 1000000},
    {"path": "/manifests/", "status": 429, "retry_after": 2},
    {"path": "/blobs/", "redirect": true}
  ]}

Matching: "path" is a regular expression searched in the path (without the
query); "method" (optional) must equal the method; "range" (optional) true or
false requires a Range header to be there or not; "first": N (optional) lets
the rule act on only the first N requests it matches (counts start again
whenever the control file's content changes). One fault per rule:

  "drop_after": N      send the headers and N bytes of the body, then close
  "stall_after": N     send N bytes, then stall up to "stall_seconds"
                       (default 30; ends early if the client goes), close
  "corrupt": true      flip bytes of the body, same length: one in the
                       middle, or "offset": O and "count": C
  "truncate": K        declare the full length, send all but the last K
                       bytes (true: 1), close
  "oversize": K        append K bytes of garbage (true: 16) and declare the
                       longer length; with "keep_length": true the original
                       length is declared and the extra bytes follow it
  "status": CODE       answer CODE with a small registry-style error body;
                       429 and 503 get Retry-After ("retry_after", default 1)
  "redirect": true     answer 307 ("code") with Location
                       http://HOST:PORT/_redirect/<path>?<query>, HOST being
                       the proxy's own address or "host" (e.g. "localhost",
                       which a client sees as another host); that URL serves
                       the upstream's answer for the original path (with the
                       original request's Authorization if the client sends
                       none, like a pre-signed blob-store URL)
  "delay": SECONDS     wait before handling (alone, or with any fault above)
  "reset": true        with drop_after/stall_after/truncate: close with a
                       TCP reset instead of a FIN
  "headers": {...}     extra headers on the answer (any fault)

Every request is logged as one JSON line to the log file: time, method, path,
query, range, status (what the client got), length (declared
Content-Length), bytes (body bytes sent), upstream (the upstream's status,
or null, or its error when it could not be reached: the client then gets
502), fault (null or its name), rule (index or null), auth (whether the
request had an Authorization header). For a complete answer the line is
written before its last bytes go out, so a client that has its answer finds
it in the log.
"""
import argparse
import hashlib
import json
import os
import re
import select
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
       "te", "trailer", "trailers", "transfer-encoding", "upgrade", "content-length"}
# Set by the proxy itself (send_response), not relayed twice.
OWN = {"date", "server"}
FAULTS = ["drop_after", "stall_after", "corrupt", "truncate", "oversize", "status", "redirect"]
CHUNK = 64 * 1024


class Rules:
    """The control file, re-read on every request, with per-rule counts."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.digest = None
        self.rules = []
        self.counts = []

    def match(self, method, path, has_range, redirected):
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raw = b""
        with self.lock:
            d = hashlib.sha256(raw).digest()
            if d != self.digest:
                try:
                    rules = json.loads(raw).get("rules", []) if raw.strip() else []
                except ValueError as e:
                    print("faultproxy: bad control file, keeping the old rules: %s" % e,
                          file=sys.stderr)
                    rules = None
                if rules is not None:
                    self.digest, self.rules, self.counts = d, rules, [0] * len(rules)
            for i, r in enumerate(self.rules):
                if "method" in r and r["method"] != method:
                    continue
                if redirected and r.get("redirect"):
                    continue  # the second leg of a redirect is served
                if "range" in r and bool(r["range"]) != has_range:
                    continue
                if not re.search(r.get("path", ""), path):
                    continue
                if "first" in r and self.counts[i] >= int(r["first"]):
                    continue
                self.counts[i] += 1
                return i, r
        return None, None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Closed(Exception):
    """The answer ended the connection on purpose."""


def make_handler(opts, rules, upstream):
    log_lock = threading.Lock()
    redirect_auth = {}  # original path → Authorization of the redirected request

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        # ---- logging -------------------------------------------------------

        def log_json(self):
            if self.logged:
                return
            self.logged = True
            rec = dict(self.rec, time=round(time.time(), 3))
            with log_lock, open(opts.log, "a") as f:
                f.write(json.dumps(rec, sort_keys=True) + "\n")

        # ---- sending -------------------------------------------------------

        def send_head(self, status, headers, length):
            self.rec["status"] = status
            self.rec["length"] = length
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if length is not None:
                self.send_header("Content-Length", str(length))
            if self.close_after:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()

        def send_body(self, data, last):
            if last:
                self.rec["bytes"] += len(data)
                self.log_json()
                self.wfile.write(data)
                self.wfile.flush()
            else:
                self.wfile.write(data)
                self.wfile.flush()
                self.rec["bytes"] += len(data)

        def hang_up(self, reset=False):
            """Ends the connection now (the answer is incomplete)."""
            self.log_json()
            try:
                self.wfile.flush()
            except OSError:
                pass
            if reset:
                # Closed with a zero linger time: the kernel sends RST (the
                # descriptor really closes when finish() closes rfile).
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.close_connection = True
            raise Closed()

        def simple(self, status, body, headers=()):
            self.send_head(status, list(headers) + [("Content-Type", "application/json")],
                           len(body))
            if self.command == "HEAD":
                self.log_json()
            else:
                self.send_body(body, last=True)

        # ---- the request ---------------------------------------------------

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if n == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(n)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else None

        def handle_any(self):
            url = urllib.parse.urlsplit(self.path)
            path, query = url.path, url.query
            self.logged = False
            self.close_after = False
            self.rec = {"method": self.command, "path": path, "query": query,
                        "range": self.headers.get("Range"), "status": None, "length": None,
                        "bytes": 0, "upstream": None, "fault": None, "rule": None,
                        "auth": "Authorization" in self.headers}
            body = self.read_body()
            redirected = path.startswith("/_redirect/")
            upath = path[len("/_redirect"):] if redirected else path
            idx, rule = rules.match(self.command, path, "Range" in self.headers, redirected)
            rule = rule or {}
            fault = next((f for f in FAULTS if f in rule and rule[f] not in (None, False)), None)
            self.rec["rule"], self.rec["fault"] = idx, fault
            extra = list((rule.get("headers") or {}).items())
            try:
                if rule.get("delay"):
                    time.sleep(float(rule["delay"]))
                if fault == "status":
                    code = int(rule["status"])
                    if code in (429, 503):
                        extra.append(("Retry-After", str(rule.get("retry_after", 1))))
                    err = {429: "TOOMANYREQUESTS", 401: "UNAUTHORIZED", 403: "DENIED",
                           404: "NOT_FOUND"}.get(code, "UNKNOWN")
                    msg = {"errors": [{"code": err, "message": "injected by faultproxy",
                                       "detail": None}]}
                    return self.simple(code, json.dumps(msg).encode() + b"\n", extra)
                if fault == "redirect":
                    host = rule.get("host") or self.server.server_address[0]
                    port = self.server.server_address[1]
                    scheme = "https" if opts.tls_cert else "http"
                    loc = "%s://%s:%d/_redirect%s" % (scheme, host, port, path)
                    if query:
                        loc += "?" + query
                    if "Authorization" in self.headers:
                        redirect_auth[path] = self.headers["Authorization"]
                    extra.append(("Location", loc))
                    return self.simple(int(rule.get("code", 307)), b"", extra)
                self.forward(upath, query, body, rule, fault, extra, redirected)
            except Closed:
                pass
            except (BrokenPipeError, ConnectionResetError, socket.timeout, ssl.SSLError, OSError,
                    http.client.HTTPException) as e:
                if self.rec["status"] is None and not isinstance(e, (BrokenPipeError, ConnectionResetError)):
                    # Nothing sent yet: the upstream failed.
                    self.rec["upstream"] = str(e)
                    try:
                        self.simple(502, json.dumps({"errors": [{"code": "UNAVAILABLE",
                                    "message": "faultproxy: upstream: %s" % e}]}).encode() + b"\n")
                    except OSError:
                        pass
                self.close_connection = True
            finally:
                self.log_json()

        def forward(self, upath, query, body, rule, fault, extra, redirected):
            conn = upstream()
            target = upath + ("?" + query if query else "")
            conn.putrequest(self.command, target, skip_host=True, skip_accept_encoding=True)
            have_auth = False
            for k, v in self.headers.items():
                if k.lower() in HOP or k.lower() == "expect":
                    continue
                if k.lower() == "authorization":
                    have_auth = True
                conn.putheader(k, v)
            if redirected and not have_auth and upath in redirect_auth:
                conn.putheader("Authorization", redirect_auth[upath])
            if "Host" not in self.headers:
                conn.putheader("Host", "%s:%d" % self.server.server_address[:2])
            conn.putheader("X-Forwarded-Proto", "https" if opts.tls_cert else "http")
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            self.rec["upstream"] = resp.status
            headers = [(k, v) for k, v in resp.getheaders()
                       if k.lower() not in HOP and k.lower() not in OWN] + extra
            try:
                self.relay(resp, headers, rule, fault)
            finally:
                conn.close()

        def relay(self, resp, headers, rule, fault):
            cl = resp.getheader("Content-Length")
            if self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200:
                self.send_head(resp.status, headers, int(cl) if cl is not None else 0)
                return self.log_json()
            if cl is None:
                # Chunked or until-close upstream: hold it all, send it with a length.
                data, length = resp.read(), None
                length = len(data)
            else:
                data, length = None, int(cl)

            def chunks():
                if data is not None:
                    for i in range(0, len(data), CHUNK):
                        yield data[i:i + CHUNK]
                    return
                left = length
                while left > 0:
                    b = resp.read(min(CHUNK, left))
                    if not b:
                        return
                    left -= len(b)
                    yield b

            declared = length
            limit = None      # send at most this many body bytes, then hang up
            after = None      # what to do at the limit: "drop" or "stall"
            garbage = b""
            if fault == "drop_after":
                limit, after = int(rule["drop_after"]), "drop"
            elif fault == "stall_after":
                limit, after = int(rule["stall_after"]), "stall"
            elif fault == "truncate":
                k = 1 if rule["truncate"] is True else int(rule["truncate"])
                limit, after = max(0, length - k), "drop"
            elif fault == "oversize":
                k = 16 if rule["oversize"] is True else int(rule["oversize"])
                garbage = bytes((0xA5 ^ (i * 7)) & 0xFF for i in range(k))
                if rule.get("keep_length"):
                    self.close_after = True
                else:
                    declared = length + k
            flip = set()
            if fault == "corrupt":
                off = int(rule.get("offset", length // 2))
                flip = set(range(off, off + int(rule.get("count", 1))))
            if limit is not None:
                self.close_after = True
            self.send_head(resp.status, headers, declared)
            pos = 0
            pending = None  # one chunk held back to know which one is last
            for b in chunks():
                if flip:
                    ba = bytearray(b)
                    for o in flip:
                        if pos <= o < pos + len(b):
                            ba[o - pos] ^= 0xFF
                    b = bytes(ba)
                if limit is not None and pos + len(b) >= limit:
                    b = b[:limit - pos]
                    if pending is not None:
                        self.send_body(pending, last=False)
                        pending = None
                    if b:
                        self.send_body(b, last=False)
                    pos = limit
                    break
                if pending is not None:
                    self.send_body(pending, last=False)
                pending = b
                pos += len(b)
            if limit is not None:
                if pending is not None:
                    self.send_body(pending, last=False)
                if after == "stall":
                    self.stall(float(rule.get("stall_seconds", 30)))
                return self.hang_up(bool(rule.get("reset")))
            if pos < length:
                # The upstream ended early: so does this answer.
                if pending is not None:
                    self.send_body(pending, last=False)
                return self.hang_up()
            tail = (pending or b"") + garbage
            self.send_body(tail, last=True)
            if fault == "oversize" and rule.get("keep_length"):
                self.hang_up()

        def stall(self, seconds):
            self.log_json()
            end = time.time() + seconds
            while time.time() < end:
                r, _, _ = select.select([self.connection], [], [], min(0.2, end - time.time()))
                if r:
                    try:
                        if not self.connection.recv(4096, socket.MSG_PEEK):
                            return  # the client went away
                    except OSError:
                        return
                    time.sleep(0.05)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--control", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--upstream-ca")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    opts = ap.parse_args()
    up = urllib.parse.urlsplit(opts.upstream if "://" in opts.upstream else "http://" + opts.upstream)
    if up.scheme == "https":
        ctx = ssl.create_default_context(cafile=opts.upstream_ca)

        def upstream():
            return http.client.HTTPSConnection(up.hostname, up.port or 443, timeout=60, context=ctx)
    else:
        def upstream():
            return http.client.HTTPConnection(up.hostname, up.port or 80, timeout=60)
    srv = Server((opts.listen, 0), make_handler(opts, Rules(opts.control), upstream))
    if opts.tls_cert:
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(opts.tls_cert, opts.tls_key)
        # The handshake happens in the request's thread, on its first read:
        # a silent client cannot hold up the accept loop.
        srv.socket = sctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, opts.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
