#!/usr/bin/env python3
"""A webhook receiver for benchmarks: answers 204 at once and logs arrival time, webhook-id and
the event's timestamp (so event -> delivered latency can be computed) and the path. Threaded, HTTP/1.1.

Usage: receiver.py PORT LOGFILE
"""
import json
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, logfile = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
out = open(logfile, "a", buffering=1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except ConnectionError:
            pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = time.time()
        sent = None
        try:
            ts = json.loads(body).get("timestamp")
            if ts:
                sent = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
        with lock:
            out.write(f"{now:.6f} {self.headers.get('webhook-id', '-')} {sent if sent else '-'} {self.path}\n")
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
