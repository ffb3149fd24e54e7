#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A small HTTP/1.1 server for gate's http-family tests (stdlib only).

    httpd.py PORT [--tls CERT KEY] [--ready FILE]

Every path takes per-request overrides in its query string:
    _status=503     answer with this status
    _delay=2.5      wait this long before sending anything
    _body=TEXT      answer with this body
    _trickle=S      send the headers and the first byte of the body at once,
                    then one more byte every S seconds (a slow answer)
Sticky overrides: POST /__set?path=/cluster&status=500&delay=0.5 (the POST
body becomes the response body, when there is one); POST /__reset clears
them; GET /__log lists the requests seen (method, path, headers, body).

Built-in paths:
    /            "ok"
    /json        a fixed JSON document (see JSON_DOC)
    /big?bytes=N          N bytes with a Content-Length
    /stream?bytes=N       N bytes, chunked, without a Content-Length
    /redirect?to=/json    302 to `to`
    /echo        JSON: the method, the body and the header names received
    /api/v1/alerts, /cluster, /health: Prometheus- and Patroni-shaped answers
    POST /hook...  {"ok": true}, as a webhook receiver answers (notify:)
    anything else: 404 {"error": "not found"}
"""
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

JSON_DOC = {
    "status": "ok",
    "version": "15.4",
    "replicas": 2,
    "lag": 0.5,
    "ready": True,
    "nested": {"a/b": 1, "m~n": 2, "deep": {"x": [10, 20, 30]}},
    "list": [1, 2, 3],
}
ALERTS = {"status": "success", "data": {"alerts": [
    {"labels": {"alertname": "PostgresReplicationLag", "severity": "critical",
                "instance": "db2:9187"},
     "annotations": {"summary": "replica lag > 30s"}, "state": "firing",
     "activeAt": "2024-01-01T00:00:00.000000000Z", "value": "4.2e+01"}]}}
CLUSTER = {"members": [
    {"name": "pg1", "role": "leader", "state": "running",
     "api_url": "http://127.0.0.1:1/patroni", "host": "127.0.0.1", "port": 5432,
     "timeline": 1},
    {"name": "pg2", "role": "replica", "state": "streaming",
     "api_url": "http://127.0.0.1:1/patroni", "host": "127.0.0.1", "port": 5433,
     "timeline": 1, "lag": 0}]}

sticky = {}
log = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gate-test-httpd/1"

    def log_message(self, fmt, *args):
        pass

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype="application/json", extra=None,
              head=False, trickle=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if head:
            return
        if trickle is None:
            self.wfile.write(body)
            return
        for i in range(len(body)):
            self.wfile.write(body[i:i + 1])
            self.wfile.flush()
            if i + 1 < len(body):
                time.sleep(trickle)

    def _handle(self, method):
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body_in = self._read_body() if method in ("POST", "PATCH") else b""
        with lock:
            log.append({"method": method, "path": url.path, "query": url.query,
                        "headers": dict(self.headers.items()),
                        "body": body_in.decode("utf-8", "replace")})
        path = url.path
        if method == "POST" and path == "/__set":
            with lock:
                sticky[q.get("path", "/")] = {
                    "status": int(q["status"]) if "status" in q else None,
                    "delay": float(q.get("delay", 0)),
                    "body": body_in if body_in else None}
            return self._send(200, json.dumps({"set": q.get("path", "/")}))
        if method == "POST" and path == "/__reset":
            with lock:
                sticky.clear()
                log.clear()
            return self._send(200, '{"reset": true}')
        if path == "/__log":
            with lock:
                return self._send(200, json.dumps(log[:-1]))

        status, ctype, extra = 200, "application/json", {}
        if path == "/":
            body, ctype = "ok\n", "text/plain"
        elif path == "/json":
            body = json.dumps(JSON_DOC)
        elif path == "/big":
            body, ctype = b"x" * int(q.get("bytes", "0")), "text/plain"
        elif path == "/stream":
            return self._stream(int(q.get("bytes", "0")), method == "HEAD")
        elif path == "/redirect":
            status, body = 302, ""
            extra["Location"] = q.get("to", "/json")
        elif path == "/echo":
            body = json.dumps({"method": method, "body": body_in.decode("utf-8", "replace"),
                               "headers": sorted(self.headers.keys())})
        elif path == "/api/v1/alerts":
            body = json.dumps(ALERTS)
        elif path == "/cluster":
            body = json.dumps(CLUSTER)
        elif path == "/health":
            body = '{"state": "running"}'
        elif path.startswith("/hook") and method == "POST":
            body = '{"ok": true}'  # a webhook receiver (notify:)
        else:
            status, body = 404, '{"error": "not found"}'

        with lock:
            st = sticky.get(path)
        if st:
            if st["status"] is not None:
                status = st["status"]
            if st["body"] is not None:
                body = st["body"]
            if st["delay"]:
                time.sleep(st["delay"])
        if "_status" in q:
            status = int(q["_status"])
        if "_body" in q:
            body = q["_body"]
        if "_delay" in q:
            time.sleep(float(q["_delay"]))
        trickle = float(q["_trickle"]) if "_trickle" in q else None
        try:
            self._send(status, body, ctype, extra, head=(method == "HEAD"), trickle=trickle)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stream(self, n, head):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if head:
            return
        try:
            chunk = b"y" * 65536
            left = n
            while left > 0:
                c = chunk[:min(left, len(chunk))]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                left -= len(c)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_POST(self):
        self._handle("POST")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of parallel checks must not overflow the backlog

    def handle_error(self, request, client_address):
        pass  # clients that give up mid-answer are what the tests do


def main():
    args = sys.argv[1:]
    port = int(args.pop(0))
    tls = None
    ready = None
    while args:
        a = args.pop(0)
        if a == "--tls":
            tls = (args.pop(0), args.pop(0))
        elif a == "--ready":
            ready = args.pop(0)
    srv = Server(("127.0.0.1", port), Handler)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if ready:
        with open(ready, "w") as f:
            f.write("%d\n" % port)
    srv.serve_forever()


if __name__ == "__main__":
    main()
