#!/usr/bin/env python3
"""Challenge leaderboard benchmark on the local stack (run by hand; figures in docs/PERFORMANCE.md).

    cargo build --release -p iron-local -p iron-admin && python3 bench/challenges.py [members=100000] [entries=1000000]
    IRON_BENCH_DATA=/tmp/tmpXXXX python3 bench/challenges.py   # the reads again, on an earlier run's data

Starts the release iron-local on a fresh data dir (audit on, as deployed) and, in one run:
  setup:  `members` athletes through POST /athletes/bulk (1,000 a request), split over the demo's
          two locations; one distance challenge over this month; every member joins
          (16 client threads; joins/s)
  ingest: `entries` POST /challenges/{id}/entries (a random member, 100–5,000 m, 1 in 10 a
          correction of an earlier source record) with wrk, 32 connections (entries/s)
  reads: wrk measures for 10 s each, on one connection: the top 25 (GET /leaderboard?limit=25),
          a random member's rank (GET /my-progress?memberId=…), and the page of a random member
          (GET /leaderboard?memberId=…, with myPosition) — p50/p99 from wrk --latency; alone,
          then while wrk keeps posting entries on 1 and on 4 connections
Then it checks the board against a brute-force sort of a sample: each sampled member's rank is
1 + the number of members whose value (read back) is higher.
The DynamoDB units of each operation are counted from the adapter by infra/local/tests/api/cost.rs.
"""
import bisect
import concurrent.futures
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

members_n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
entries_n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "target"))
profile = os.environ.get("IRON_BENCH_PROFILE", "release")  # `profiling` for perf
binary = os.path.join(target, profile, "iron-local")
# IRON_BENCH_DATA=<data dir of an earlier run>: serve it again and measure only the reads and the
# exactness (the setup and the ingest of 1,000,000 entries take ~35 min here).
reuse = os.environ.get("IRON_BENCH_DATA")
data = reuse or tempfile.mkdtemp()
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
proc = subprocess.Popen([binary, "--port", str(port), "--data-dir", data], stdout=subprocess.PIPE, text=True,
                        env={**os.environ, "RUST_LOG": "warn"})
business = None
for line in proc.stdout:
    business = business or (re.search(r"biz_[0-9A-Z]{26}", line) or [None])[0]
    if line.startswith("API key: "):
        break
# An unlimited key (the demo key's tier would throttle a load test), as bench/checkin.sh does.
admin = os.path.join(target, profile, "iron-admin")
minted = subprocess.run([admin, "--data-dir", data, "key", "mint", "--business", business, "--name", "bench",
                         "--scopes", "all", "--tier", "unlimited"], capture_output=True, text=True, check=True).stdout
key = re.search(r"API key: (\S+)", minted).group(1)
threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
prefix = "/api/external/v1"
local = threading.local()


def call(method, path, body=None):
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn.request(method, prefix + path, body=None if body is None else json.dumps(body), headers=headers)
    r = conn.getresponse()
    raw = r.read()
    return r.status, (json.loads(raw) if raw else None)


def rss():
    with open(f"/proc/{proc.pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) // 1024


if reuse:
    ids = open(os.path.join(data, "members.txt")).read().split()
    cid = re.search(r"chl_[0-9A-Z]{26}", open(os.path.join(data, "entries.lua")).read())[0]
    print(f"reused {data}: {len(ids)} members, challenge {cid}")
else:
    status, locs = call("GET", "/locations")
    locations = [l["id"] for l in locs["data"]]
    t0 = time.time()
    ids = []
    for b in range(members_n // 1000):
        rows = [{"firstName": f"Bench{b}", "lastName": f"Member{i}", "externalId": f"B-{b}-{i}",
                 "locationId": locations[i % len(locations)]} for i in range(1000)]
        st, body = call("POST", "/athletes/bulk", {"athletes": rows})
        assert st in (200, 201, 207), (st, body)
        ids += [r["id"] for r in body["results"] if r.get("id")]
    print(f"setup: {len(ids)} members in {time.time() - t0:.1f} s")
    month = time.strftime("%Y-%m-01")
    st, c = call("POST", "/challenges", {"name": "Bench 100K", "type": "distance", "target": 100000,
                                          "startDate": month, "endDate": time.strftime("%Y-%m-28")})
    assert st == 201, c
    cid = c["id"]
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda m: call("POST", f"/challenges/{cid}/join", {"memberId": m})[0], ids))
    took = time.time() - t0
    assert all(r == 201 for r in results), set(results)
    print(f"joins: {len(ids)} in {took:.1f} s = {len(ids) / took:.0f}/s; iron-local peak RSS {rss()} MB")

    with open(os.path.join(data, "members.txt"), "w") as f:
        f.write("\n".join(ids))

# The wrk scripts, written again on a reused data dir (they name its path and the challenge).
lua = os.path.join(data, "entries.lua")
open(lua, "w").write(f"""
local ids = {{}}
for line in io.lines("{data}/members.txt") do ids[#ids + 1] = line end
math.randomseed(os.time() + tonumber(tostring({{}}):sub(8), 16) % 1000)
local n = 0
request = function()
  n = n + 1
  local m = ids[math.random(#ids)]
  local sid = "s" .. m .. "-" .. math.random(12)
  local body = '{{"memberId": "' .. m .. '", "value": ' .. (100 * math.random(50)) ..
    ', "source": "import", "sourceId": "' .. sid .. '"}}'
  return wrk.format("POST", "{prefix}/challenges/{cid}/entries", nil, body)
end
""")


def random_member_get(name, path):
    """A wrk script that GETs `path` followed by a random member's id."""
    script = os.path.join(data, name)
    open(script, "w").write(f"""
local ids = {{}}
for line in io.lines("{data}/members.txt") do ids[#ids + 1] = line end
request = function()
  return wrk.format("GET", "{prefix}/challenges/{cid}/{path}" .. ids[math.random(#ids)])
end
""")
    return script


rank_lua = random_member_get("rank.lua", "my-progress?memberId=")
page_lua = random_member_get("page.lua", "leaderboard?limit=25&memberId=")
auth = ["-H", f"Authorization: Bearer {key}", "-H", "content-type: application/json"]
url = f"http://127.0.0.1:{port}"


def wrk(conns, seconds, script=None, path="", latency=True):
    cmd = ["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{seconds}s"] + (["--latency"] if latency else []) + auth
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url + path], capture_output=True, text=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p = {k: v for k, v in re.findall(r"\s+(50|99)%\s+(\S+)", out)}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return total, rps, p, int(bad.group(1)) if bad else 0, out


done = 0
t0 = time.time()
while done < entries_n and not reuse:
    left = entries_n - done
    total, rps, _, bad, out = wrk(32, max(5, min(60, int(left / 2500) + 1)), lua, latency=False)
    assert bad == 0, out
    done += total
took = time.time() - t0
if not reuse:
    print(f"ingest: {done} entries in {took:.0f} s = {done / took:.0f}/s; iron-local peak RSS {rss()} MB")

reads = [("top-25", None, f"{prefix}/challenges/{cid}/leaderboard?limit=25"),
         ("my-rank", rank_lua, ""),
         ("page+myPosition", page_lua, "")]
for name, script, path in reads:
    total, rps, p, bad, out = wrk(1, 10, script, path)
    assert bad == 0, out
    print(f"{name:16} alone, 1 connection:         {rps:6.0f} req/s  p50 {p.get('50')}  p99 {p.get('99')}")
for writers in (1, 4):
    writer = subprocess.Popen(["wrk", "-t1", f"-c{writers}", "-d35s"] + auth + ["-s", lua, url],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(2)
    for name, script, path in reads:
        total, rps, p, bad, out = wrk(1, 10, script, path)
        assert bad == 0, out
        print(f"{name:16} under {writers} writer(s), 1 connection: {rps:6.0f} req/s  p50 {p.get('50')}  p99 {p.get('99')}")
    wout = writer.communicate()[0]
    wrps = float(re.search(r"Requests/sec:\s+([\d.]+)", wout).group(1))
    print(f"  (the writer's {writers} connection(s): {wrps:.0f} entries/s)")

# Exactness, against a brute-force sort of every member's value (read back; none yet sorts last).
def progress(m):
    st, p = call("GET", f"/challenges/{cid}/my-progress?memberId={m}")
    assert st == 200, (st, p)
    return m, (-1 if p["value"] is None else p["value"]), p["rank"]


with concurrent.futures.ThreadPoolExecutor(8) as pool:
    values = list(pool.map(progress, ids))
ordered = sorted(v for _, v, _ in values)
wrong = sum(1 for _, v, r in values if r != 1 + len(ordered) - bisect.bisect_right(ordered, v))
st, top = call("GET", f"/challenges/{cid}/leaderboard?limit=25")
print(f"exact: {len(values) - wrong}/{len(values)} ranks equal a brute-force sort; top value {top['leaderboard'][0]['value']}, "
      f"{top['totalParticipants']} participants; iron-local peak RSS {rss()} MB")
proc.terminate()
