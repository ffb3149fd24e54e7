#!/usr/bin/env python3
# pty-answer.py ANSWER CMD [ARG...]: run CMD in a new session on a pseudo
# terminal of its own (its /dev/tty), type ANSWER and Enter once the
# terminal shows "Type this host's name", print everything the terminal
# showed, and exit with CMD's status.  ANSWER "-" types nothing.
import os
import pty
import select
import sys
import time

answer, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out = b""
status = None
sent = answer == "-"
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if not ready:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if not sent and b"Type this host's name" in out:
        os.write(fd, answer.encode() + b"\r")
        sent = True
else:
    os.kill(pid, 9)
if status is None:
    _, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
sys.exit(os.waitstatus_to_exitcode(status))
