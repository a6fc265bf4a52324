#!/usr/bin/env python3
"""Cold start of a Lambda function binary, measured against a local fake of the Lambda Runtime API.

For each run: start the binary with AWS_LAMBDA_RUNTIME_API pointing here, hand it one event on its
first `invocation/next`, and time process start → the function's `invocation/<id>/response`.
Prints median / p90 / min / max over the runs, and the first response's status code.

Usage: lambda_cold_start.py BINARY EVENT.json [--runs 20] [--env K=V ...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class Runtime:
    def __init__(self, event):
        self.event = event
        self.done = threading.Event()
        self.response = None
        self.handed = False
        self.lock = threading.Lock()

    def reset(self):
        self.done.clear()
        self.response = None
        self.handed = False


def handler_for(rt):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == f"{PREFIX}/invocation/next":
                with rt.lock:
                    first = not rt.handed
                    rt.handed = True
                if not first:
                    rt.done.wait(30)
                    time.sleep(30)  # the process is killed before this matters
                body = json.dumps(rt.event).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:" + os.path.basename(os.path.dirname(os.path.abspath(sys.argv[1]))))
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            payload = self.rfile.read(length) if length else b""
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if self.path.endswith("/response") or self.path.endswith("/error"):
                rt.response = (self.path, payload, time.perf_counter())
                rt.done.set()

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("event")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--env", action="append", default=[])
    a = p.parse_args()
    event = json.load(open(a.event))
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": os.path.basename(os.path.dirname(os.path.abspath(a.binary))),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/iron-metrics/bench/" + os.path.basename(os.path.dirname(os.path.abspath(a.binary))),
        "RUST_LOG": "warn",
    })
    for kv in a.env:
        k, v = kv.split("=", 1)
        env[k] = v
    times = []
    status = None
    for _ in range(a.runs):
        # A fresh fake Runtime API per run, so nothing of the previous process can interfere.
        rt = Runtime(event)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(rt))
        server.daemon_threads = True
        server.handle_error = lambda *args: None  # the killed process drops its blocked connection
        threading.Thread(target=server.serve_forever, daemon=True).start()
        env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
        start = time.perf_counter()
        proc = subprocess.Popen([a.binary], env=env, stdout=subprocess.DEVNULL, stderr=None if os.environ.get("BENCH_DEBUG") else subprocess.DEVNULL)
        if not rt.done.wait(30):
            proc.kill()
            raise SystemExit("no response within 30 s")
        path, payload, at = rt.response
        times.append((at - start) * 1000)
        proc.kill()
        proc.wait()
        server.shutdown()
        server.server_close()
        if path.endswith("/error"):
            raise SystemExit(f"the function reported an error: {payload[:300]!r}")
        status = json.loads(payload).get("statusCode")
    times.sort()
    p90 = times[int(len(times) * 0.9) - 1] if len(times) >= 10 else times[-1]
    print(json.dumps({
        "runs": len(times), "status": status,
        "median_ms": round(statistics.median(times), 1), "p90_ms": round(p90, 1),
        "min_ms": round(times[0], 1), "max_ms": round(times[-1], 1),
    }))


if __name__ == "__main__":
    main()
