#!/usr/bin/env python3
"""Wodify backfill benchmark on the local stack (run by hand; figures in docs/PERFORMANCE.md).

    cargo build --release -p iron-local -p iron-wodify-fake
    python3 bench/wodify_sync.py unpaced [clients=1000]   # the sync itself: the fake unthrottled, no pace
    python3 bench/wodify_sync.py paced [clients=1000]     # at Wodify's real limit (the fake's 5/s, burst 20)

Starts the fake Wodify (a generated gym of `clients` clients, 26 months of history) and iron-local
on a fresh data dir pointed at it, connects the demo business's gym, and polls the run log until
the backfill ends. Reports the run's duration, records pulled, raw records and canonical rows
written, requests and latency per endpoint (from the run), and what the fake saw: requests, the
sustained rate (requests over the span from first to last), and the 429s it sent because the
client went over its token bucket (`overLimit`: must be 0). Then it runs an incremental sync (the
nightly one) and reports its duration too, and each process's peak RSS and CPU time (/proc).
IRON_BENCH_PROFILE=debug uses the debug binaries.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

mode = sys.argv[1] if len(sys.argv) > 1 else "unpaced"
clients = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
assert mode in ("unpaced", "paced"), "mode: unpaced or paced"
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "target"))
profile = os.environ.get("IRON_BENCH_PROFILE", "release")
bin_dir = os.path.join(target, profile)
KEY = "wdf_bench_2f4e6a8c0b1d3f57"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(method, url, key=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


work = tempfile.mkdtemp(prefix="wodify-bench-")
fake_port = free_port()
fake_args = [os.path.join(bin_dir, "wodify-fake"), "--port", str(fake_port), "--key", KEY, "--clients", str(clients)]
if mode == "unpaced":
    fake_args.append("--no-rate-limit")
fake = subprocess.Popen(fake_args, stdout=subprocess.PIPE, text=True)
fake_line = fake.stdout.readline()
fake_base = f"http://127.0.0.1:{fake_port}"
port = free_port()
local_args = [os.path.join(bin_dir, "iron-local"), "--port", str(port), "--data-dir", f"{work}/data",
              "--wodify-base-url", f"{fake_base}/v1"]
if mode == "unpaced":
    local_args.append("--wodify-unpaced")
env = dict(os.environ, RUST_LOG="warn")
local = subprocess.Popen(local_args, stdout=subprocess.PIPE, stderr=open(f"{work}/stderr.log", "w"), text=True, env=env)
key = None
for line in local.stdout:
    m = re.match(r"^API key: (\S+)", line)
    if m:
        key = m.group(1)
        break
base = f"http://127.0.0.1:{port}/api/external/v1"
gym = call("GET", f"{base}/gyms", key)["data"][0]["id"]
call("DELETE", f"{fake_base}/_fake/stats")
started = time.time()
connected = call("POST", f"{base}/integrations/wodify/connect", key, {"gymId": gym, "apiKey": KEY})
run_id = connected["run"]["id"]


def wait(run_id):
    while True:
        run = next(r for r in call("GET", f"{base}/integrations/wodify/logs?gymId={gym}", key)["data"] if r["id"] == run_id)
        if run["status"] in ("succeeded", "failed"):
            return run
        time.sleep(1)


run = wait(run_id)
elapsed = time.time() - started
stats = call("GET", f"{fake_base}/_fake/stats")
counts = run["counts"]
pulled = sum(c["pulled"] for c in counts.values())
upserted = sum(c["upserted"] for c in counts.values())
transformed = sum(c["transformed"] for c in counts.values())
run_seconds = (time.mktime(time.strptime(run["finishedAt"][:19], "%Y-%m-%dT%H:%M:%S"))
               - time.mktime(time.strptime(run["startedAt"][:19], "%Y-%m-%dT%H:%M:%S")))
print(f"backfill ({mode}, {clients} clients, {profile}): {run['status']} in {elapsed:.1f} s (run {run_seconds:.0f} s, "
      f"{run['invocations']} steps)")
print(f"  records pulled {pulled}, raw written {upserted}, canonical rows {transformed}: {pulled / elapsed:.0f} records/s")
for entity, c in counts.items():
    print(f"    {entity:13} pulled {c['pulled']:6} requests {c['requests']:5}")
print(f"  requests (run) {run['requests']}; the fake saw {stats['requests']} over {stats['spanSeconds']:.1f} s: "
      f"{stats['requests'] / max(stats['spanSeconds'], 1e-9):.2f} req/s sustained "
      f"({stats['requests'] / max(stats['spanSeconds'], 1e-9) / 5 * 100:.0f} % of 5/s); 429 over the limit: {stats['overLimit']}")
for endpoint, h in sorted(run["latency"].items()):
    print(f"    {endpoint:38} n={h['requests']:5} mean {h['meanMs']} ms p95 ≤{h['p95Ms']} ms max {h['maxMs']} ms errors {h['errors']} throttled {h['throttled']}")
months = call("GET", f"{base}/gyms/{gym}/metrics/monthly?from=2025-01&to=2026-12", key)["months"]
print(f"  months of metrics: {len(months)}; last: {json.dumps({k: months[-1][k] for k in ('month', 'activeMembers', 'mrr', 'revenueCollected', 'churnRate')})}")
call("DELETE", f"{fake_base}/_fake/stats")
t = time.time()
incr = call("POST", f"{base}/integrations/wodify/sync", key, {"gymId": gym, "mode": "incremental"})
incr_run = wait(incr["id"])
print(f"incremental (nightly) run: {incr_run['status']} in {time.time() - t:.1f} s, {incr_run['requests']} requests, "
      f"window {incr_run['windowFrom']}..{incr_run['windowTo']}")
for name, proc in (("iron-local", local), ("fake Wodify", fake)):
    status = open(f"/proc/{proc.pid}/status").read()
    hwm = re.search(r"VmHWM:\s+(\d+) kB", status).group(1)
    ticks = open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(ticks[11]) + int(ticks[12])) / os.sysconf("SC_CLK_TCK")
    print(f"  {name}: peak RSS {int(hwm) / 1024:.0f} MB, CPU {cpu:.1f} s")
local.terminate()
local.wait()
fake.terminate()
