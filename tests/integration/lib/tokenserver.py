#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A registry token server (the Docker token protocol) for the tests.

    tokenserver.py --key KEY.pem --cert CERT.pem --port-file FILE --log FILE
                   [--issuer I] [--service S] [--user NAME:PASSWORD]...
                   [--anonymous ACTIONS] [--expires-in SECONDS]
                   [--alg RS256|ES256] [--control FILE] [--listen ADDR]

GET /token?service=S&scope=repository:NAME:pull,push[&scope=...]
    with or without `Authorization: Basic`, answers
    {"token", "access_token", "expires_in", "issued_at"} (and a
    "refresh_token" when offline_token=true and the caller logged in).
POST /token (OAuth2 form: grant_type=password with username/password, or
    grant_type=refresh_token with refresh_token; scope space-separated)
    answers {"access_token", "expires_in", "issued_at", "scope"} (and
    "refresh_token" when access_type=offline).

A known user gets what it asks for, within its actions (default pull, push,
delete); an anonymous caller gets only --anonymous actions ("" = refused with
401, the default). Bad credentials get 401. The token is a JWT signed with
KEY (RS256, or ES256 for an EC key) through `openssl dgst`, with the
certificate in the `x5c` header (docker-registry verifies it against its
rootcertbundle) and a libtrust `kid`.

The control file (JSON, re-read on every request, optional) overrides:
    {"expires_in": 2, "anonymous": "pull", "status": 500,
     "users": {"name": {"password": "pw", "actions": ["pull"]}},
     "omit": ["token"]}              (leave fields out of the answer)
Every request is logged as one JSON line (written before the answer is
sent): time, method, path, service, scopes, account, auth (none, basic,
refresh, password), ok, status, granted, expires_in.
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_kid(der_spki):
    """libtrust's key ID: SHA-256 of the DER public key, first 240 bits,
    base32, in 12 groups of 4 joined by colons."""
    s = base64.b32encode(hashlib.sha256(der_spki).digest()[:30]).decode().rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


def der_ecdsa_to_raw(der, n=32):
    """openssl's DER ECDSA signature → JOSE's r || s."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        ln = der[i + 1]
        v = der[i + 2:i + 2 + ln]
        out += v.lstrip(b"\0").rjust(n, b"\0")
        i += 2 + ln
    return out


class Signer:
    def __init__(self, key, cert, alg):
        self.key, self.alg = key, alg
        der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                             stdout=subprocess.PIPE, check=True).stdout
        spki = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                              stdout=subprocess.PIPE, check=True).stdout
        self.x5c = [base64.b64encode(der).decode()]
        self.kid = libtrust_kid(spki)

    def sign(self, claims):
        header = {"typ": "JWT", "alg": self.alg, "kid": self.kid, "x5c": self.x5c}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                             input=signing_input.encode(), stdout=subprocess.PIPE,
                             check=True).stdout
        if self.alg == "ES256":
            sig = der_ecdsa_to_raw(sig)
        return signing_input + "." + b64url(sig)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def parse_scope(s):
    """repository:NAME:ACTIONS (NAME may hold colons for a port)."""
    parts = s.split(":")
    if len(parts) < 3:
        return None
    return {"type": parts[0], "name": ":".join(parts[1:-1]),
            "actions": [a for a in parts[-1].split(",") if a]}


def make_handler(opts, signer):
    lock = threading.Lock()
    refresh_tokens = {}

    def control():
        if not opts.control:
            return {}
        try:
            with open(opts.control) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}
        except ValueError as e:
            print("tokenserver: bad control file: %s" % e, file=sys.stderr)
            return {}

    def users(ctl):
        if "users" in ctl:
            return ctl["users"]
        u = {}
        for spec in opts.user:
            name, _, pw = spec.partition(":")
            u[name] = {"password": pw}
        return u

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def log_json(self, rec):
            rec["time"] = round(time.time(), 3)
            with lock, open(opts.log, "a") as f:
                f.write(json.dumps(rec, sort_keys=True) + "\n")

        def answer(self, status, obj, rec, extra_headers=()):
            rec["status"] = status
            self.log_json(rec)
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra_headers:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            account, password, auth = None, None, "none"
            h = self.headers.get("Authorization", "")
            if h.lower().startswith("basic "):
                auth = "basic"
                try:
                    account, _, password = base64.b64decode(h[6:].strip()).decode().partition(":")
                except Exception:
                    account, password = "", None
            self.issue(url.path, q.get("service", [""])[0], q.get("scope", []),
                       account, password, auth,
                       offline=q.get("offline_token", [""])[0] == "true", oauth=False)

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            n = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(n).decode(), keep_blank_values=True)
            g = lambda k: form.get(k, [""])[0]
            scopes = g("scope").split() if g("scope") else []
            grant = g("grant_type")
            if grant == "password":
                self.issue(url.path, g("service"), scopes, g("username"), g("password"),
                           "password", offline=g("access_type") == "offline", oauth=True)
            elif grant == "refresh_token":
                with lock:
                    account = refresh_tokens.get(g("refresh_token"))
                self.issue(url.path, g("service"), scopes, account, None, "refresh",
                           offline=g("access_type") == "offline", oauth=True,
                           refresh=g("refresh_token"))
            else:
                self.answer(400, {"error": "unsupported_grant_type"},
                            {"method": "POST", "path": url.path, "grant_type": grant, "ok": False})

        def issue(self, path, service, scopes, account, password, auth, offline, oauth,
                  refresh=None):
            ctl = control()
            rec = {"method": self.command, "path": path, "service": service,
                   "scopes": scopes, "account": account, "auth": auth, "ok": False}
            if path != "/token":
                return self.answer(404, {"error": "not found"}, rec)
            if ctl.get("status"):
                return self.answer(int(ctl["status"]), {"error": "injected failure"}, rec)
            if service != opts.service:
                return self.answer(400, {"error": "invalid_request",
                                         "details": "unknown service %r" % service}, rec)
            known = users(ctl)
            if auth == "refresh":
                if account is None or account not in known:
                    return self.answer(401, {"error": "invalid_grant"}, rec)
                allowed = known[account].get("actions", ["pull", "push", "delete"])
            elif auth != "none":
                u = known.get(account)
                if u is None or u.get("password") != password:
                    return self.answer(401, {"error": "unauthorized",
                                             "details": "bad credentials"}, rec,
                                       [("WWW-Authenticate", 'Basic realm="ember-test-token"')])
                allowed = u.get("actions", ["pull", "push", "delete"])
            else:
                anon = ctl.get("anonymous", opts.anonymous)
                if not anon:
                    return self.answer(401, {"error": "unauthorized",
                                             "details": "log in"}, rec,
                                       [("WWW-Authenticate", 'Basic realm="ember-test-token"')])
                allowed = [a for a in anon.split(",") if a]
                account = ""
            access = []
            for s in scopes:
                for one in s.split(" "):
                    sc = parse_scope(one)
                    if sc is None:
                        continue
                    acts = sc["actions"] if "*" in allowed else \
                        [a for a in sc["actions"] if a in allowed]
                    access.append({"type": sc["type"], "name": sc["name"], "actions": acts})
            expires_in = int(ctl.get("expires_in", opts.expires_in))
            now = int(time.time())
            claims = {"iss": opts.issuer, "sub": account or "", "aud": service,
                      "exp": now + expires_in, "nbf": now - 1, "iat": now,
                      "jti": secrets.token_hex(16), "access": access}
            token = signer.sign(claims)
            out = {"token": token, "access_token": token, "expires_in": expires_in,
                   "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
            if oauth:
                del out["token"]
                out["scope"] = " ".join(scopes)
            if offline and account:
                rt = refresh or secrets.token_hex(16)
                with lock:
                    refresh_tokens[rt] = account
                out["refresh_token"] = rt
            for k in ctl.get("omit", []):
                out.pop(k, None)
            rec.update(ok=True, granted=access, expires_in=expires_in, account=account)
            self.answer(200, out, rec)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--issuer", default="ember-test-issuer")
    ap.add_argument("--service", default="ember-test-registry")
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--anonymous", default="")
    ap.add_argument("--expires-in", type=int, default=300)
    ap.add_argument("--alg", choices=["RS256", "ES256"], default="RS256")
    ap.add_argument("--control")
    opts = ap.parse_args()
    signer = Signer(opts.key, opts.cert, opts.alg)
    srv = Server((opts.listen, 0), make_handler(opts, signer))
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, opts.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
