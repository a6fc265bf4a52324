#!/usr/bin/env python3
"""Bulk and job benchmark on the local stack (run by hand; figures in docs/PERFORMANCE.md).

    cargo build --release -p iron-local && python3 bench/jobs.py [rows=100000]

Starts the release iron-local on a fresh data dir and measures, in one run:
  bulk:   ten POST /athletes/bulk requests of 1,000 new athletes each (latency per request)
  import: a CSV of `rows` athletes (names such as "Åsa Öberg", quoted commas) uploaded through
          the presigned link and run as an import job (rows/s from the job's startedAt to
          finishedAt), with iron-local's peak resident memory during the job
  export: an export job of every athlete (time from queued to done, the file's size, peak
          memory during it), the file fetched through its download link
Peak memory is VmHWM of the iron-local process, reset before each phase (/proc/<pid>/clear_refs).
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "target"))
binary = os.path.join(target, "release", "iron-local")
data = tempfile.mkdtemp()
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
proc = subprocess.Popen([binary, "--port", str(port), "--data-dir", data], stdout=subprocess.PIPE, text=True,
                        env={**os.environ, "RUST_LOG": "warn"})
key = None
for line in proc.stdout:
    if line.startswith("API key: "):
        key = line.split(": ", 1)[1].strip()
        break
base = f"http://127.0.0.1:{port}/api/external/v1"


def call(method, path, body=None, content_type="application/json", url=None, headers=None):
    data_ = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(url or base + path, data=data_, method=method)
    if url is None:
        req.add_header("Authorization", f"Bearer {key}")
    if data_ is not None:
        req.add_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=600) as r:
        raw = r.read()
        return r.status, raw


def peak_reset():
    with open(f"/proc/{proc.pid}/clear_refs", "w") as f:
        f.write("5")


def peak_mb():
    status = open(f"/proc/{proc.pid}/status").read()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def rss_mb():
    status = open(f"/proc/{proc.pid}/status").read()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def wait(path):
    while True:
        _, raw = call("GET", path)
        job = json.loads(raw)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)


def secs(job):
    start = datetime.fromisoformat(job["startedAt"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(job["finishedAt"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


try:
    # Bulk requests.
    lat = []
    for r in range(10):
        batch = [{"firstName": "Bulk", "lastName": f"Row {r}-{i}", "email": f"bulk{r}-{i}@example.com",
                  "externalId": f"B-{r}-{i}"} for i in range(1000)]
        t = time.perf_counter()
        status, raw = call("POST", "/athletes/bulk", {"athletes": batch})
        lat.append((time.perf_counter() - t) * 1000)
        assert status == 200 and json.loads(raw)["created"] == 1000, raw[:200]
    print(f"bulk 1,000 rows: p50 {statistics.median(lat):.0f} ms, max {max(lat):.0f} ms (10 requests)")

    # The import file.
    lines = ["email,First name,Last name,Member #,Phone,DOB"]
    for i in range(rows):
        first = "Åsa" if i % 3 == 0 else "José María"
        lines.append(f'imp{i}@example.com,{first},"Öberg, {i}",M-{i:06d},+3460{i:07d},1990-05-17')
    csv_bytes = ("\r\n".join(lines) + "\r\n").encode()
    status, raw = call("POST", "/imports?type=athletes&upload=url", b"", "text/csv")
    job = json.loads(raw)
    up = job["upload"]
    call("PUT", None, csv_bytes, up["headers"].get("Content-Type", "text/csv"), url=up["url"])
    peak_reset()
    before = rss_mb()
    t = time.perf_counter()
    call("POST", f"/imports/{job['id']}/start", b"{}")
    done = wait(f"/imports/{job['id']}")
    wall = time.perf_counter() - t
    assert done["status"] == "succeeded", done
    imp_peak = peak_mb()
    print(f"import {rows:,} rows ({len(csv_bytes) / 1e6:.1f} MB): {done['counts']}, job {secs(done):.1f} s "
          f"= {rows / secs(done):,.0f} rows/s (wall {wall:.1f} s incl. queueing); "
          f"RSS before {before:.0f} MB, peak during {imp_peak:.0f} MB")

    # The export.
    peak_reset()
    before = rss_mb()
    t = time.perf_counter()
    status, raw = call("POST", "/exports/athletes?format=csv", b"")
    job = json.loads(raw)
    done = wait(f"/exports/{job['id']}")
    wall = time.perf_counter() - t
    exp_peak = peak_mb()
    t = time.perf_counter()
    _, file_ = call("GET", None, url=done["download"]["url"])
    fetch = time.perf_counter() - t
    assert len(file_) == done["bytesWritten"]
    print(f"export {done['rowsWritten']:,} athletes: job {secs(done):.1f} s (wall {wall:.1f} s), "
          f"{done['bytesWritten'] / 1e6:.1f} MB; RSS before {before:.0f} MB, peak during {exp_peak:.0f} MB; "
          f"download {fetch * 1000:.0f} ms")
    try:
        call("GET", "/export/athletes?format=csv")
        print("inline export: answered (under 5 MB)")
    except urllib.error.HTTPError as e:
        print(f"inline export of the same: {e.code} (over 5 MB: use the job)")
finally:
    proc.terminate()
    proc.wait()
    subprocess.run(["rm", "-rf", data])
