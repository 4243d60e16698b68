#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""pty_run.py ROWS COLS [--input TEXT] CMD...: run CMD on a new pty of that
size (as a user's terminal), type TEXT (backslash escapes allowed) once it
runs, print everything it wrote, then "exit=N" with its exit status."""
import os
import pty
import select
import struct
import sys
import fcntl
import termios
import time


def main():
    rows, cols = int(sys.argv[1]), int(sys.argv[2])
    args = sys.argv[3:]
    text = None
    if args[0] == "--input":
        text = args[1].encode().decode("unicode_escape").encode()
        args = args[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(args[0], args)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = b""
    deadline = time.time() + 60
    sent = False
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not sent and text is not None and time.time() > deadline - 59:
            os.write(fd, text)
            sent = True
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
    print("exit=%d" % os.waitstatus_to_exitcode(status))


main()
