#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A TCP listener that never answers (doc/facts.md, libcurl).

    blackhole.py PORT accept|noaccept [READY-FILE]

    blackhole.py PORT accept     complete the handshake, never send a byte:
                                 the client gets a *read* timeout
    blackhole.py PORT noaccept   listen(0) with the backlog filled by two of
                                 its own connections: new SYNs are dropped and
                                 the client gets a *connect* timeout
READY-FILE is written once the listener is in that state (for noaccept,
after its own connections fill the backlog: before that, a client could
still get in).
"""
import signal
import socket
import sys
import time


def say_ready(path):
    if path:
        with open(path, "w") as f:
            f.write("ready\n")


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    ready = sys.argv[3] if len(sys.argv) > 3 else None
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    held = []
    if mode == "accept":
        srv.listen(64)
        say_ready(ready)
        while True:
            conn, _ = srv.accept()
            held.append(conn)  # kept open, never written to
    elif mode == "noaccept":
        srv.listen(0)
        for _ in range(2):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            held.append(c)
        time.sleep(0.2)  # the first handshake completes, the second SYN waits
        say_ready(ready)
        while True:
            time.sleep(3600)
    else:
        sys.exit("usage: blackhole.py PORT accept|noaccept")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    main()
