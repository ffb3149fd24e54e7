#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Servers that fail on purpose, for the fault matrix (t7000).  stdlib only.

    faultd.py READY-FILE SPEC...

Each SPEC is NAME=MODE[,KEY=VALUE...]; it listens on 127.0.0.1 at a port the
kernel picks (bind to port 0: always free, never guessed), or on a UNIX
socket with unix=PATH.  Once every listener is up, READY-FILE gets one line
"NAME PORT" (or "NAME PATH") each.

Protocol-agnostic modes (HTTP, the PostgreSQL wire protocol, D-Bus: the
client speaks first in all three):
    hang       accept, read, never answer
    garbage    answer the first bytes with bytes of no protocol, then close
    nonutf8    answer with bytes that are not UTF-8, then close
    die        when the first bytes of a request arrive, SIGKILL this whole
               process (the server killed while a request is in flight;
               give it its own process)

HTTP modes; every one serves, for the path asked, the answer a healthy
server gives (see healthy()), then spoils it:
    http-ok        the healthy answer
    http-slow      the healthy answer, after delay=SECONDS
    http-reset     Content-Length 512 bytes beyond the healthy body, the
                   whole healthy body, then a TCP reset (RST)
    http-trunc     the same, then an orderly close (FIN): a truncated body
    http-garbage   200, application/json, a body of binary garbage
    http-nonutf8   200, the healthy JSON with a string that is not UTF-8
The healthy body is complete in http-reset and http-trunc on purpose: a
client that ignored the broken transfer would see a passing answer.

PostgreSQL proxy modes, in front of a real server (upstream=PORT); the
fault strikes at the check's own query (the first simple query that is not
the set_config() gate's postgres checks open a session with):
    pg-slow    hold the answer for delay=SECONDS, then pass it on
    pg-reset   half of the answer's first message, then a TCP reset
    pg-trunc   half of the answer's first message, then close (FIN)
    pg-kill    SIGSTOP the backend (its PID is in BackendKeyData), pass the
               query on; when barrier=N sessions are so held, SIGKILL the
               postmaster (pidfile=PATH, first line) and those backends:
               the server dies with N queries in flight.  Needs root.
"""
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from urllib.parse import unquote

GARBAGE = (b"\x00\x17\x03\xfe\x1b[31m%GARBAGE% \x07\x08 not a protocol "
           b"\x00\x01\x02\x7f\x80\x90\xa0\xff" * 4 + b"\r\n\r\n")
NONUTF8 = b"\xff\xfe\xc3\x28 not utf-8 \xe2\x82 \xf8\x88\x80\x80\x80 \xed\xa0\x80\r\n"

OK_JSON = {"status": "ok", "version": "15.4", "replicas": 2}
ALERTS_NONE = {"status": "success", "data": {"alerts": []}}
# Alertmanager 0.25's /api/v2/alerts with nothing active; Prometheus 2.42's
# /api/v1/query answer for `vector(1)`.
AM_ALERTS_NONE = []
QUERY_ONE = {"status": "success",
             "data": {"resultType": "vector",
                      "result": [{"metric": {}, "value": [1764370000.0, "1"]}]}}


def cluster_304():
    # Patroni 3.0.4+: a replica that says "streaming" counts by itself.
    return {"members": [
        {"name": "pg1", "role": "leader", "state": "running",
         "api_url": "http://127.0.0.1:1/patroni", "host": "127.0.0.1",
         "port": 5432, "timeline": 1},
        {"name": "pg2", "role": "replica", "state": "streaming",
         "api_url": "http://127.0.0.1:1/patroni", "host": "127.0.0.1",
         "port": 5433, "timeline": 1, "lag": 0}]}


def cluster_302(api_url):
    # Patroni 3.0.2 (Debian 12): "running"; the leader's /patroni decides.
    return {"members": [
        {"name": "pg1", "role": "leader", "state": "running", "api_url": api_url,
         "host": "127.0.0.1", "port": 5432, "timeline": 1},
        {"name": "pg2", "role": "replica", "state": "running",
         "api_url": "http://127.0.0.1:1/patroni", "host": "127.0.0.1",
         "port": 5433, "timeline": 1, "lag": 0}]}


LEADER_302 = {"state": "running", "role": "master", "timeline": 1,
              "xlog": {"location": 67108864},
              "replication": [{"usename": "replicator", "application_name": "pg2",
                               "client_addr": "127.0.0.1", "state": "streaming",
                               "sync_state": "async", "sync_priority": 0}]}


def healthy(path):
    """The body a healthy server answers for path (JSON, as bytes)."""
    if path.endswith("/api/v1/alerts"):
        doc = ALERTS_NONE
    elif path.endswith("/api/v2/alerts"):
        doc = AM_ALERTS_NONE
    elif path.endswith("/api/v1/query"):
        doc = QUERY_ONE
    elif path.startswith("/l302/") and path.endswith("/cluster"):
        # /l302/<url-encoded leader api_url>/cluster
        doc = cluster_302(unquote(path[len("/l302/"):-len("/cluster")]))
    elif path.endswith("/cluster"):
        doc = cluster_304()
    elif path.endswith("/patroni"):
        doc = LEADER_302
    else:
        doc = OK_JSON
    return json.dumps(doc).encode()


def hard_close(conn, reset):
    try:
        if reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    conn.close()


def read_http_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    return line[1] if len(line) > 1 else "/"


def serve_http(conn, mode, opts):
    path = read_http_request(conn)
    if path is None:
        return conn.close()
    path = path.split("?", 1)[0]
    body = healthy(path)
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
    if mode == "http-ok":
        conn.sendall((head + "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
    elif mode == "http-slow":
        time.sleep(float(opts.get("delay", "3")))
        conn.sendall((head + "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
    elif mode in ("http-reset", "http-trunc"):
        conn.sendall((head + "Content-Length: %d\r\n\r\n" % (len(body) + 512)).encode() + body)
        time.sleep(0.05)  # let the client read what was sent before the cut
        return hard_close(conn, mode == "http-reset")
    elif mode == "http-garbage":
        conn.sendall((head + "Content-Length: %d\r\n\r\n" % len(GARBAGE)).encode() + GARBAGE)
    elif mode == "http-nonutf8":
        doc = json.loads(body)
        if isinstance(doc, list):
            doc.append("@@")
        else:
            doc["note"] = "@@"
        bad = json.dumps(doc).encode().replace(b"@@", b"\xff\xfe\xc3\x28")
        conn.sendall((head + "Content-Length: %d\r\n\r\n" % len(bad)).encode() + bad)
    hard_close(conn, False)


# ---- PostgreSQL wire protocol proxy ----

class Barrier:
    def __init__(self):
        self.lock = threading.Lock()
        self.held = []


barrier = Barrier()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_typed(s):
    head = recv_exact(s, 5)
    if head is None:
        return None
    n = struct.unpack("!I", head[1:5])[0]
    rest = recv_exact(s, n - 4)
    if rest is None:
        return None
    return head + rest


def pg_kill_all(opts, backends):
    with open(opts["pidfile"]) as f:
        pm = int(f.readline())
    for pid in [pm] + backends:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def is_gate_setup(msg):
    # A session set-up alone: set_config() calls and nothing after them.
    # gate's postgres checks send theirs in the same message as the
    # check's own statements ("SELECT set_config(...); SELECT ..."): that
    # message is the check's query, and the fault strikes at it.
    body = msg[5:].rstrip(b"\0").strip()
    if b"set_config('default_transaction_read_only'" not in body:
        return False
    rest = body.split(b";", 1)
    return len(rest) == 1 or not rest[1].strip()


def serve_pg(client, mode, opts):
    up = socket.create_connection(("127.0.0.1", int(opts["upstream"])))
    st = {"pid": None, "armed": threading.Event()}
    # The startup phase, in this thread alone: an SSLRequest or
    # GSSENCRequest (no type byte) gets a one-byte answer.
    while True:
        n = recv_exact(client, 4)
        if n is None:
            return hard_close(client, False)
        body = recv_exact(client, struct.unpack("!I", n)[0] - 4)
        up.sendall(n + body)
        if struct.unpack("!I", body[:4])[0] not in (80877103, 80877104):
            break
        client.sendall(recv_exact(up, 1))

    def c2s():
        try:
            while True:
                msg = read_typed(client)
                if msg is None:
                    break
                if msg[:1] == b"Q" and not is_gate_setup(msg) and st["pid"]:
                    # the check's own query: the fault strikes here
                    if mode == "pg-kill":
                        os.kill(st["pid"], signal.SIGSTOP)
                        up.sendall(msg)
                        with barrier.lock:
                            barrier.held.append(st["pid"])
                            if len(barrier.held) == int(opts.get("barrier", "1")):
                                pg_kill_all(opts, barrier.held)
                        continue
                    st["armed"].set()
                up.sendall(msg)
        except OSError:
            pass
        try:
            up.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    reader = threading.Thread(target=c2s, daemon=True)
    reader.start()
    try:
        while True:
            msg = read_typed(up)
            if msg is None:
                break
            if msg[:1] == b"K":
                st["pid"] = struct.unpack("!I", msg[5:9])[0]
            if st["armed"].is_set():
                if mode == "pg-slow":
                    time.sleep(float(opts.get("delay", "3")))
                    st["armed"].clear()
                elif mode in ("pg-reset", "pg-trunc"):
                    client.sendall(msg[:max(1, len(msg) // 2)])
                    time.sleep(0.05)
                    # wake the reader first: a socket another thread
                    # still reads is not really closed
                    client.shutdown(socket.SHUT_RD)
                    reader.join()
                    hard_close(client, mode == "pg-reset")
                    up.close()
                    return
            client.sendall(msg)
    except OSError:
        pass
    try:
        client.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    reader.join()
    hard_close(client, False)
    up.close()


def handle(conn, mode, opts):
    try:
        if mode.startswith("http-"):
            return serve_http(conn, mode, opts)
        if mode.startswith("pg-"):
            return serve_pg(conn, mode, opts)
        if mode == "hang":
            while conn.recv(65536):
                pass
            return  # the client gave up; keep nothing
        conn.recv(65536)
        if mode == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        conn.sendall(GARBAGE if mode == "garbage" else NONUTF8)
        time.sleep(0.05)
        hard_close(conn, False)
    except OSError:
        pass


def listen(spec):
    name, rest = spec.split("=", 1)
    parts = rest.split(",")
    mode, opts = parts[0], dict(p.split("=", 1) for p in parts[1:])
    if "unix" in opts:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(opts["unix"])
        where = opts["unix"]
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        where = str(s.getsockname()[1])
    s.listen(128)
    return name, where, s, mode, opts


def accept_loop(s, mode, opts):
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn, mode, opts), daemon=True).start()


def main():
    ready, specs = sys.argv[1], sys.argv[2:]
    listeners = [listen(sp) for sp in specs]
    for _, _, s, mode, opts in listeners:
        threading.Thread(target=accept_loop, args=(s, mode, opts), daemon=True).start()
    tmp = ready + ".tmp"
    with open(tmp, "w") as f:
        for name, where, _, _, _ in listeners:
            f.write("%s %s\n" % (name, where))
    os.rename(tmp, ready)
    signal.sigwait([signal.SIGTERM, signal.SIGINT])


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])
    main()
