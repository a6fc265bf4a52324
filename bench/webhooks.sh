#!/usr/bin/env bash
# Webhook delivery benchmark (run by hand; figures go to docs/PERFORMANCE.md).
#
#   RECEIVER=node|python bench/webhooks.sh
#
# One receiver on loopback: bench/receiver.js (node, one event loop; the default) or
# bench/receiver.py (threaded Python). Ceiling: wrk POSTing a delivery-sized body to it.
# Then iron-local (release, --allow-local-webhooks, audit off) with one webhook on member.created:
# N athletes created as fast as wrk can, and the receiver's arrival log gives deliveries/s (first to
# last arrival). Idle latency: 50 athletes created one by one, 300 ms apart, event timestamp ->
# arrival at the receiver, p50/p99.
set -euo pipefail
cd "$(dirname "$0")/.."
receiver=${RECEIVER:-node}
case "$receiver" in
  node) start_receiver() { exec node bench/receiver.js "$@"; } ;;
  python) start_receiver() { exec python3 bench/receiver.py "$@"; } ;;
  *) echo "RECEIVER must be node or python" >&2; exit 2 ;;
esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iron-target}"
cargo build --release -p iron-local -p iron-admin >&2
bin="$CARGO_TARGET_DIR/release"
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rport=$(free_port); port=$(free_port)
start_receiver "$rport" "$work/ceiling.log" & rpid=$!
trap 'kill $rpid ${pid:-} ${rpid2:-} 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 0.5
body='{"type":"member.created","timestamp":"2026-11-22T10:00:00Z","data":{"id":"ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7","firstName":"José","lastName":"Núñez","email":"jose@example.com"}}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "receiver: $receiver"
echo "ceiling: plain POST loop to the receiver (wrk -t1 -c8 -d10s)"
wrk -t1 -c8 -d10s -s "$work/post.lua" "http://127.0.0.1:$rport/hook" | grep -E "Requests/sec|Latency"
kill $rpid; sleep 0.3
start_receiver "$rport" "$work/deliveries.log" & rpid2=$!
sleep 0.3

RUST_LOG=warn "$bin/iron-local" --port "$port" --data-dir "$work/data" --allow-local-webhooks --no-audit >"$work/banner.txt" & pid=$!
for _ in $(seq 1 100); do grep -q '^API key:' "$work/banner.txt" 2>/dev/null && break; sleep 0.1; done
business=$(grep -o 'biz_[0-9A-Z]*' "$work/banner.txt" | head -1)
key=$("$bin/iron-admin" --data-dir "$work/data" key mint --business "$business" --name bench --scopes all --tier unlimited | sed -n 's/^API key: //p')
api="http://127.0.0.1:$port/api/external/v1"
# Ten endpoints, each with the highest budget (1,000 deliveries/s), so the pipeline, not one
# endpoint's budget, is what is measured: every event makes ten deliveries.
endpoints=10
for i in $(seq 1 $endpoints); do
  curl -fsS -o /dev/null -H "Authorization: Bearer $key" -H 'content-type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$rport/hook$i\",\"events\":[\"member.created\"],\"rateLimitPerSecond\":1000}" "$api/webhooks"
done

cat >"$work/create.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"firstName":"Bench","lastName":"Núñez %d-%d","email":"bench%d-%d@example.com"}', math.random(1e9), n, math.random(1e9), n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer KEY"}, body)
end
LUA
sed -i "s/KEY/$key/" "$work/create.lua"
echo "creating athletes for 1 s (each emits member.created)"
wrk -t1 -c4 -d1s -s "$work/create.lua" "$api/athletes" >"$work/create.txt"
grep -E "Requests/sec" "$work/create.txt"
created=$(awk '/requests in/ { print $1 }' "$work/create.txt")
expected=$((created * endpoints))
echo "waiting for $expected deliveries"
stalled=0
while [ "$(wc -l <"$work/deliveries.log")" -lt "$expected" ] && [ $stalled -lt 20 ]; do
  n=$(wc -l <"$work/deliveries.log")
  sleep 1
  [ "$(wc -l <"$work/deliveries.log")" = "$n" ] && stalled=$((stalled + 1)) || stalled=0
done
python3 - "$work/deliveries.log" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
t = [float(r[0]) for r in rows]
ids = {r[1] for r in rows}
span = max(t) - min(t) if len(t) > 1 else 0
print(f"deliveries: {len(rows)} ({len(ids)} events) in {span:.2f} s = {len(rows)/span if span else 0:.0f}/s")
# The steady rate: whole seconds after the first, before the last (fan-out start and tail cut).
per_second = {}
for x in t:
    per_second[int(x - min(t))] = per_second.get(int(x - min(t)), 0) + 1
inner = [per_second.get(i, 0) for i in range(1, int(span))]
if inner:
    print(f"steady: median {sorted(inner)[len(inner) // 2]}/s, best second {max(inner)}/s; per second {inner}")
dupes = len(rows) - len({(r[1], r[3]) for r in rows})
print(f"duplicate arrivals (same event at the same endpoint): {dupes}")
PY
: >"$work/deliveries.log"
echo "idle latency: 50 athletes, 300 ms apart (10 deliveries each)"
for i in $(seq 1 50); do
  curl -fsS -o /dev/null -H "Authorization: Bearer $key" -H 'content-type: application/json' \
    -d "{\"firstName\":\"Idle\",\"lastName\":\"Socio $i\"}" "$api/athletes"
  sleep 0.3
done
sleep 2
python3 - "$work/deliveries.log" <<'PY'
import sys
lat = sorted((float(r[0]) - float(r[2])) * 1000 for r in (l.split() for l in open(sys.argv[1])) if r[2] != "-")
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"event -> delivered: n={len(lat)} p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms")
PY
