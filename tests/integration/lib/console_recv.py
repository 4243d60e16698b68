#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A --console-socket receiver, as containerd's shim is one for runc.

console_recv.py SOCKET OUT [INPUT]: listen on the unix socket SOCKET, take
one terminal master (SCM_RIGHTS) from the first connection, write the
name that came with it to OUT.name, send INPUT (if given) to the terminal,
and copy what the terminal says to OUT until it closes (EIO once every
slave is gone). Touches OUT.ready once it listens.
"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
data = sys.argv[3].encode() if len(sys.argv) > 3 else b""
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
open(out + ".ready", "w").close()
conn, _ = srv.accept()
msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
conn.close()
srv.close()
os.unlink(path)
with open(out + ".name", "w") as f:
    f.write(msg.decode(errors="replace"))
if len(fds) != 1:
    sys.exit("console_recv: got %d descriptors" % len(fds))
master = fds[0]
if data:
    os.write(master, data)
with open(out, "wb") as f:
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        f.write(chunk)
        f.flush()
