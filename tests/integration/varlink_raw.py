#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An independent varlink client for ember's integration tests.

Only the Python standard library: it shares no code with libember, so the
daemon's wire protocol is checked from the outside. A message is one JSON
object followed by a NUL byte.

  varlink_raw.py SOCK call METHOD [JSON] [--more] [--oneway] [--count N]
      One call. Prints each reply as one JSON line. With --more, reads
      replies until one without "continues" (or N replies with --count).
      Exit 0 when the last reply is not an error, 1 when it is one, 3 when
      the connection closed or timed out before the reply.

  varlink_raw.py SOCK send DATA [--hex] [--replies N] [--close]
      Sends raw bytes (Python escape syntax: '{"x":1}\\0', or hex with
      --hex), then reads replies until the server closes, N replies came
      (--replies) or the timeout. Prints each reply line, then CLOSED or
      OPEN. --close: close right after sending (prints nothing). --file:
      DATA names a file whose bytes are sent as they are. --shut-wr: shut
      the writing side once sent. --read-after S: do not read for S
      seconds. --rcvbuf N: a small receive buffer (SO_RCVBUF).

  varlink_raw.py SOCK trickle DATA [--chunk N] [--delay S] [--replies N]
      Like send, but writes DATA N bytes at a time (default 1), each in its
      own send(), with a pause of S seconds (default 0.002) between them.

  varlink_raw.py SOCK big SIZE [--nul] [--replies N]
      Sends a call message of SIZE bytes (a long string parameter), with
      its NUL only with --nul, while reading; then like send.

  varlink_raw.py SOCK steady N [--interval S]
      N calls of io.ember.System.Version, one every S seconds (default 1),
      each write ending one message and starting the next, so the daemon
      never sees an empty input buffer though no call takes long. Prints
      "replies K" and CLOSED or OPEN.

  varlink_raw.py SOCK hold N [--check] [--hold S] [--ready-file F]
      Opens N connections one after the other and keeps them. With --check,
      calls io.ember.System.Version on each (in order) and prints
      "served A refused B" (refused: closed without a reply), then tries
      one more connection and prints "extra served" or "extra refused".
      Then writes F (when given) and holds the connections S seconds
      (default 0) or until stdin reaches EOF with --hold -1.

  varlink_raw.py SOCK stall-subscriber --ready-file F --go-file G
      Subscribes to io.ember.Events with more, reads the confirmation,
      writes F, then does not read at all until G exists. Then reads what
      is left and prints "events N" and CLOSED or OPEN.

  varlink_raw.py SOCK flood NAMESPACE COUNT [--labels K] [--value-size B] [--first N]
      Creates NAMESPACE (if absent) and sets its labels COUNT times, one
      call at a time on one connection: K labels of B bytes each (defaults
      8 and 4000), so every /namespaces/update event is large, and the
      label n counting from N (default 0). Prints "updates COUNT" when
      every call succeeded; exit 1 otherwise.

  varlink_raw.py SOCK churn PREFIX --log FILE
      Writes as fast as it can on one connection until the daemon goes
      away: creates PREFIX-0, PREFIX-1, ... with labels, merges and replaces
      their labels, deletes every third. Before each call it appends
      {"sent": OP, ...} to FILE, after the reply {"ack": OP} (or {"error"}).

  varlink_raw.py SOCK churn-verify PREFIX --log FILE
      Checks the daemon's namespaces named PREFIX-* against FILE: every
      acknowledged change is there, nothing else is, except that the one
      call in flight when the daemon died may or may not have happened.
      Prints a summary; exit 1 on any difference.

  varlink_raw.py SOCK latency [--until-file F] [--count N] [--interval S]
      Calls io.ember.System.Info again and again, each on a new connection
      (as a client command would), until F exists (checked between calls)
      or N calls were made (default 100000), sleeping S seconds between
      calls (default 0.005). Prints "calls N p50 A p99 B max C" (ms,
      connect to reply) and exits 1 if a call failed.

Common options: --timeout S (default 5) bounds every wait for a reply or
for the server to close; --elapsed prints "ELAPSED seconds" on stderr
before CLOSED/OPEN; -v reports writes cut short by the server on stderr.
Exit 4 when the socket cannot be connected to (missing, refused, EACCES).
"""

import argparse
import codecs
import json
import os
import select
import socket
import sys
import threading
import time


VERBOSE = False


def note(text):
    """Expected trouble (the server closed while we wrote): only with -v."""
    if VERBOSE:
        print(text, file=sys.stderr, flush=True)


def connect(path, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # A blocking connect waits while the listen backlog is full (with a
    # timeout set, a unix socket fails at once with EAGAIN instead).
    s.connect(path)
    s.settimeout(timeout)
    return s


def unescape(text):
    """Python escape syntax to bytes: '{"a":1}\\0' -> b'{"a":1}\\x00'."""
    return codecs.escape_decode(text.encode("utf-8"))[0]


def encode_call(method, params=None, more=False, oneway=False):
    msg = {"method": method}
    if params is not None:
        msg["parameters"] = params
    if more:
        msg["more"] = True
    if oneway:
        msg["oneway"] = True
    return json.dumps(msg).encode() + b"\0"


class Reader:
    """Splits the byte stream into NUL-terminated messages."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.closed = False

    def next(self, deadline):
        """The next message (bytes, without its NUL), or None when the
        server closed (self.closed) or the deadline passed."""
        while True:
            i = self.buf.find(b"\0")
            if i >= 0:
                msg, self.buf = self.buf[:i], self.buf[i + 1:]
                return msg
            if self.closed:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except socket.timeout:
                continue
            if not data:
                self.closed = True
                continue
            self.buf += data

    def wait_closed(self, deadline):
        """Read and drop until the server closes; True if it did."""
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return False
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                self.closed = True
            else:
                self.buf += data
        return True


def print_reply(raw):
    """One reply as one compact JSON line (or RAW ... if it is not JSON)."""
    try:
        obj = json.loads(raw)
    except ValueError:
        print("RAW " + raw.decode("utf-8", "replace"), flush=True)
        return None
    print(json.dumps(obj, separators=(",", ":"), sort_keys=True), flush=True)
    return obj


def writer_thread(sock, chunks, delay):
    """Write in the background, so a server that stops reading and closes
    never blocks the reader; errors only mean the server closed."""

    def run():
        try:
            for i, c in enumerate(chunks):
                if i and delay:
                    time.sleep(delay)
                sock.sendall(c)
        except OSError as e:
            note("write stopped: %s" % e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def read_replies(sock, args, start):
    """Print replies until close, --replies N, or the timeout; then
    CLOSED or OPEN. Returns 0."""
    rd = Reader(sock)
    deadline = time.monotonic() + args.timeout
    n = 0
    while args.replies is None or n < args.replies:
        msg = rd.next(deadline)
        if msg is None:
            break
        print_reply(msg)
        n += 1
    if not rd.closed:
        # A short grace: a server that answers and then closes does both
        # at once, so a close after the last reply shows up at once.
        grace = 0.3 if args.replies is not None and n >= args.replies else 0
        rd.wait_closed(time.monotonic() + grace)
    if rd.buf:
        print("PARTIAL " + rd.buf.decode("utf-8", "replace"), flush=True)
    if args.elapsed:
        print("ELAPSED %.1f" % (time.monotonic() - start), file=sys.stderr, flush=True)
    print("CLOSED" if rd.closed else "OPEN", flush=True)
    return 0


# ---- subcommands -----------------------------------------------------------


def cmd_call(args):
    params = None
    if args.json is not None:
        params = json.loads(args.json)
    sock = connect(args.sock, args.timeout)
    try:
        sock.sendall(encode_call(args.method, params, args.more, args.oneway))
    except OSError as e:
        # The server may answer and close before reading (a refused peer):
        # its reply is still there to read.
        note("write stopped: %s" % e)
    if args.oneway:
        # Nothing comes back; make sure the server saw the whole message
        # before we go (a close is fine: the call is complete).
        sock.shutdown(socket.SHUT_WR)
        rd = Reader(sock)
        msg = rd.next(time.monotonic() + args.timeout)
        if msg is not None:
            print_reply(msg)
            return 1
        return 0
    rd = Reader(sock)
    deadline = time.monotonic() + args.timeout
    n = 0
    last = None
    while True:
        msg = rd.next(deadline)
        if msg is None:
            print("CLOSED" if rd.closed else "TIMEOUT", flush=True)
            return 3
        last = print_reply(msg)
        n += 1
        if not isinstance(last, dict):
            return 1
        if "error" in last:
            return 1
        if not last.get("continues"):
            return 0
        if args.count is not None and n >= args.count:
            return 0


def load_data(args):
    if args.file:
        with open(args.data, "rb") as f:
            return f.read()
    return bytes.fromhex(args.data) if args.hex else unescape(args.data)


def cmd_send(args):
    data = load_data(args)
    start = time.monotonic()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if args.rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    sock.connect(args.sock)
    sock.settimeout(args.timeout)
    if args.close:
        sock.sendall(data)
        sock.close()
        return 0
    t = writer_thread(sock, [data], 0)
    if args.shut_wr:
        t.join()
        sock.shutdown(socket.SHUT_WR)
    if args.read_after:
        time.sleep(args.read_after)
    return read_replies(sock, args, start)


def cmd_trickle(args):
    data = load_data(args)
    chunks = [data[i:i + args.chunk] for i in range(0, len(data), args.chunk)]
    start = time.monotonic()
    sock = connect(args.sock, args.timeout)
    writer_thread(sock, chunks, args.delay)
    return read_replies(sock, args, start)


def cmd_big(args):
    head = b'{"method":"io.ember.System.Version","parameters":{"pad":"'
    tail = b'"}}'
    pad = max(0, args.size - len(head) - len(tail))
    data = head + b"a" * pad + tail
    if args.nul:
        data += b"\0"
    start = time.monotonic()
    sock = connect(args.sock, args.timeout)
    writer_thread(sock, [data[i:i + 65536] for i in range(0, len(data), 65536)], 0)
    return read_replies(sock, args, start)


def version_on(sock, timeout):
    """True if the server answers io.ember.System.Version on sock."""
    try:
        sock.sendall(encode_call("io.ember.System.Version"))
    except OSError:
        pass  # closed by the server: the read below says so
    rd = Reader(sock)
    msg = rd.next(time.monotonic() + timeout)
    if msg is None:
        return False
    obj = json.loads(msg)
    return "error" not in obj and "version" in obj.get("parameters", {})


def cmd_steady(args):
    """N calls, one every S seconds, each write finishing one message and
    starting the next: every call completes quickly, but the daemon's
    input buffer is never empty between them."""
    msg = encode_call("io.ember.System.Version")
    start = time.monotonic()
    sock = connect(args.sock, args.timeout)
    rd = Reader(sock)
    sock.sendall(msg[:1])
    n = 0
    for i in range(args.n):
        time.sleep(args.interval)
        try:
            sock.sendall(msg[1:] + (msg[:1] if i + 1 < args.n else b""))
        except OSError as e:
            print("write stopped after %.1f s: %s" % (time.monotonic() - start, e), flush=True)
            rd.wait_closed(time.monotonic() + 1)
            break
        reply = rd.next(time.monotonic() + args.timeout)
        if reply is None:
            break
        n += 1
    print("replies %d" % n, flush=True)
    if args.elapsed:
        print("ELAPSED %.1f" % (time.monotonic() - start), file=sys.stderr, flush=True)
    print("CLOSED" if rd.closed else "OPEN", flush=True)
    return 0


def cmd_latency(args):
    """A separate client's view of the daemon under load: how long each
    call takes from connect to reply."""
    msg = encode_call("io.ember.System.Info")
    times = []
    failed = 0
    while len(times) < args.count:
        if args.until_file and os.path.exists(args.until_file):
            break
        t0 = time.monotonic()
        sock = connect(args.sock, args.timeout)
        sock.sendall(msg)
        reply = Reader(sock).next(time.monotonic() + args.timeout)
        times.append((time.monotonic() - t0) * 1000)
        sock.close()
        if reply is None or "error" in json.loads(reply):
            failed += 1
        time.sleep(args.interval)
    times.sort()

    def pct(q):
        return times[min(len(times) - 1, int(q * len(times)))] if times else 0

    print("calls %d p50 %.2f p99 %.2f max %.2f" % (len(times), pct(0.5), pct(0.99), times[-1] if times else 0),
          flush=True)
    if failed:
        print("%d calls failed" % failed, file=sys.stderr, flush=True)
    return 1 if failed else 0


def cmd_hold(args):
    socks = []
    for _ in range(args.n):
        socks.append(connect(args.sock, args.timeout))
    if args.check:
        # Let the daemon's accept loop see every connection first.
        time.sleep(0.5)
        served = refused = 0
        for s in socks:
            if version_on(s, args.timeout):
                served += 1
            else:
                refused += 1
        print("served %d refused %d" % (served, refused), flush=True)
        try:
            extra = connect(args.sock, args.timeout)
            ok = version_on(extra, args.timeout)
            extra.close()
        except OSError:
            ok = False
        print("extra %s" % ("served" if ok else "refused"), flush=True)
        # The first ones still work after the refusals.
        print("first %s" % ("served" if version_on(socks[0], args.timeout) else "refused"),
              flush=True)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    if args.hold < 0:
        sys.stdin.read()
    elif args.hold > 0:
        time.sleep(args.hold)
    for s in socks:
        s.close()
    return 0


def cmd_stall_subscriber(args):
    sock = connect(args.sock, args.timeout)
    # A small receive buffer, so the daemon's side fills quickly.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(encode_call("io.ember.Events.Subscribe", {}, more=True))
    rd = Reader(sock)
    first = rd.next(time.monotonic() + args.timeout)
    if first is None:
        print("no confirmation", flush=True)
        return 1
    print_reply(first)
    with open(args.ready_file, "w") as f:
        f.write("ready\n")
    deadline = time.monotonic() + args.wait
    while not os.path.exists(args.go_file):
        if time.monotonic() > deadline:
            print("go file never came", flush=True)
            return 1
        time.sleep(0.05)
    n = 0
    deadline = time.monotonic() + args.timeout
    while True:
        msg = rd.next(deadline)
        if msg is None:
            break
        n += 1
    print("events %d" % n, flush=True)
    print("CLOSED" if rd.closed else "OPEN", flush=True)
    return 0


def cmd_flood(args):
    sock = connect(args.sock, args.timeout)
    rd = Reader(sock)

    def call(method, params):
        sock.sendall(encode_call(method, params))
        msg = rd.next(time.monotonic() + args.timeout)
        if msg is None:
            raise SystemExit("flood: no reply to %s" % method)
        return json.loads(msg)

    r = call("io.ember.Namespaces.Create", {"name": args.namespace})
    if "error" in r and r["error"] != "io.ember.AlreadyExists":
        print(json.dumps(r), flush=True)
        return 1
    value = "v" * args.value_size
    for i in range(args.first, args.first + args.count):
        labels = {"k%d" % j: value for j in range(args.labels)}
        labels["n"] = str(i)
        r = call("io.ember.Namespaces.SetLabels", {"name": args.namespace, "labels": labels})
        if "error" in r:
            print(json.dumps(r), flush=True)
            return 1
    print("updates %d" % args.count, flush=True)
    return 0


def cmd_churn(args):
    import random
    rng = random.Random()
    sock = connect(args.sock, args.timeout)
    rd = Reader(sock)
    log = open(args.log, "a")
    state = {}
    ops = 0

    def call(op, name, method, params, labels=None):
        log.write(json.dumps({"sent": op, "name": name, "labels": labels}) + "\n")
        log.flush()
        try:
            sock.sendall(encode_call(method, params))
        except OSError:
            return None
        msg = rd.next(time.monotonic() + args.timeout)
        if msg is None:
            return None
        r = json.loads(msg)
        if "error" in r:
            log.write(json.dumps({"error": op, "name": name, "reply": r}) + "\n")
        else:
            log.write(json.dumps({"ack": op, "name": name}) + "\n")
        log.flush()
        return r

    i = 0
    while True:
        name = "%s-%d" % (args.prefix, i)
        labels = {"a": str(i), "pad": "x" * rng.randint(0, 3000)}
        if call("create", name, "io.ember.Namespaces.Create",
                {"name": name, "labels": labels}, labels) is None:
            break
        ops += 1
        cur = labels
        for k in range(2):
            new = {"u%d" % k: str(rng.random()), "pad": "y" * rng.randint(0, 3000)}
            cur = dict(cur, **new)
            if call("label", name, "io.ember.Namespaces.SetLabels",
                    {"name": name, "labels": new}, cur) is None:
                print("ops %d" % ops, flush=True)
                return 0
            ops += 1
        cur = {"only": str(i)}
        if call("label", name, "io.ember.Namespaces.SetLabels",
                {"name": name, "labels": cur, "replace": True}, cur) is None:
            break
        ops += 1
        if i % 3 == 2:
            old = "%s-%d" % (args.prefix, i - 1)
            if call("delete", old, "io.ember.Namespaces.Delete", {"name": old}) is None:
                break
            ops += 1
        i += 1
    print("ops %d" % ops, flush=True)
    return 0


def cmd_churn_verify(args):
    expected = {}  # name -> labels, or None when deleted
    inflight = None
    errors = []
    acks = 0
    with open(args.log) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # the writer died mid-line: that call never went out
            e = json.loads(line)
            if "sent" in e:
                inflight = e
                continue
            if "error" in e:
                errors.append(e)
            elif inflight is not None:
                acks += 1
                if inflight["sent"] == "delete":
                    expected[inflight["name"]] = None
                else:
                    expected[inflight["name"]] = inflight["labels"]
            inflight = None
    sock = connect(args.sock, args.timeout)
    sock.sendall(encode_call("io.ember.Namespaces.List"))
    msg = Reader(sock).next(time.monotonic() + args.timeout)
    if msg is None:
        print("no reply to List", flush=True)
        return 1
    actual = {n["name"]: n["labels"]
              for n in json.loads(msg)["parameters"]["namespaces"]
              if n["name"].startswith(args.prefix + "-")}
    bad = ["unexpected error reply: %s" % json.dumps(e) for e in errors]
    for name in sorted(set(expected) | set(actual)):
        allowed = [expected.get(name)]
        if inflight is not None and inflight["name"] == name:
            allowed.append(None if inflight["sent"] == "delete" else inflight["labels"])
        got = actual.get(name)
        if got not in allowed:
            bad.append("%s: %s, expected %s" % (
                name,
                "absent" if got is None else "labels %s" % sorted(got.items())[:3],
                " or ".join("absent" if a is None else "labels %s" % sorted(a.items())[:3]
                            for a in allowed)))
    print("verified %d namespaces, %d acknowledged calls, in flight: %s" % (
        len(actual), acks,
        "none" if inflight is None else "%s %s" % (inflight["sent"], inflight["name"])),
        flush=True)
    for b in bad:
        print(b, flush=True)
    return 1 if bad else 0


def main():
    p = argparse.ArgumentParser(description="raw varlink client for ember tests")
    p.add_argument("sock")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--elapsed", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--timeout", type=float, default=argparse.SUPPRESS)
        sp.add_argument("--elapsed", action="store_true", default=argparse.SUPPRESS)

    c = sub.add_parser("call")
    common(c)
    c.add_argument("method")
    c.add_argument("json", nargs="?")
    c.add_argument("--more", action="store_true")
    c.add_argument("--oneway", action="store_true")
    c.add_argument("--count", type=int)
    c.set_defaults(fn=cmd_call)

    for name, fn in (("send", cmd_send), ("trickle", cmd_trickle)):
        s = sub.add_parser(name)
        common(s)
        s.add_argument("data")
        s.add_argument("--hex", action="store_true")
        s.add_argument("--file", action="store_true")
        s.add_argument("--replies", type=int)
        if name == "send":
            s.add_argument("--close", action="store_true")
            s.add_argument("--shut-wr", action="store_true")
            s.add_argument("--read-after", type=float, default=0)
            s.add_argument("--rcvbuf", type=int, default=0)
        else:
            s.add_argument("--chunk", type=int, default=1)
            s.add_argument("--delay", type=float, default=0.002)
        s.set_defaults(fn=fn)

    b = sub.add_parser("big")
    common(b)
    b.add_argument("size", type=int)
    b.add_argument("--nul", action="store_true")
    b.add_argument("--replies", type=int)
    b.set_defaults(fn=cmd_big)

    st = sub.add_parser("steady")
    common(st)
    st.add_argument("n", type=int)
    st.add_argument("--interval", type=float, default=1.0)
    st.set_defaults(fn=cmd_steady)

    la = sub.add_parser("latency")
    common(la)
    la.add_argument("--until-file")
    la.add_argument("--count", type=int, default=100000)
    la.add_argument("--interval", type=float, default=0.005)
    la.set_defaults(fn=cmd_latency)

    h = sub.add_parser("hold")
    common(h)
    h.add_argument("n", type=int)
    h.add_argument("--check", action="store_true")
    h.add_argument("--hold", type=float, default=0)
    h.add_argument("--ready-file")
    h.set_defaults(fn=cmd_hold)

    ss = sub.add_parser("stall-subscriber")
    common(ss)
    ss.add_argument("--ready-file", required=True)
    ss.add_argument("--go-file", required=True)
    ss.add_argument("--wait", type=float, default=60)
    ss.set_defaults(fn=cmd_stall_subscriber)

    f = sub.add_parser("flood")
    common(f)
    f.add_argument("namespace")
    f.add_argument("count", type=int)
    f.add_argument("--labels", type=int, default=8)
    f.add_argument("--value-size", type=int, default=4000)
    f.add_argument("--first", type=int, default=0)
    f.set_defaults(fn=cmd_flood)

    ch = sub.add_parser("churn")
    common(ch)
    ch.add_argument("prefix")
    ch.add_argument("--log", required=True)
    ch.set_defaults(fn=cmd_churn)

    cv = sub.add_parser("churn-verify")
    common(cv)
    cv.add_argument("prefix")
    cv.add_argument("--log", required=True)
    cv.set_defaults(fn=cmd_churn_verify)

    args = p.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    try:
        return args.fn(args)
    except (ConnectionRefusedError, FileNotFoundError, PermissionError) as e:
        print("connect %s: %s" % (args.sock, e), file=sys.stderr, flush=True)
        return 4


if __name__ == "__main__":
    sys.exit(main())
