#!/usr/bin/env bash
# Load benchmark of the door's call on the local stack (run by hand; figures in docs/PERFORMANCE.md).
#
#   bench/checkin.sh [duration_s=15]
#
# Builds release binaries, starts iron-local on a fresh data dir (Demo Gym with 90 days of
# training), adds two more round-the-clock locations, and loads with wrk, in the same run:
#   ceiling:  GET /health
#   check-in: POST /check-in for the demo's 200 members in turn; each member's next scan is at
#             another location, so every request records a new check-in and generates a workout
#             (a repeat within 5 minutes at the same location would be answered from the latest copy)
#   daily-wod: GET /members/{id}/daily-wod (the generator and its reads, no write)
# at 1 and 32 connections. Then the generator's own cost (cargo run --example wod_cost).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk"; exit 1; }
cargo build -q --release -p iron-local -p iron-admin >&2
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=warn "$bin/iron-local" --port "$port" --data-dir "$data" >"$data/banner.txt" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 300); do grep -q '^API key:' "$data/banner.txt" 2>/dev/null && break; sleep 0.1; done
business=$(grep -o 'biz_[0-9A-Z]*' "$data/banner.txt" | head -1)
key=$("$bin/iron-admin" --data-dir "$data" key mint --business "$business" --name bench --scopes all --tier unlimited | sed -n 's/^API key: //p')
base="http://127.0.0.1:$port/api/external/v1"
auth=(-H "Authorization: Bearer $key" -H "content-type: application/json")
centro=$(curl -fsS "${auth[@]}" "$base/locations" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
equipment=$(curl -fsS "${auth[@]}" "$base/locations/$centro" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["equipment"]))')
locs=("$centro")
for n in Norte Sur; do
  locs+=("$(curl -fsS "${auth[@]}" -X POST "$base/locations" -d "{\"name\": \"Bench $n\", \"timezone\": \"Europe/Madrid\", \"equipment\": $equipment}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')")
done
members=$(curl -fsS "${auth[@]}" "$base/athletes?limit=100" | python3 -c 'import json,sys; print(" ".join(a["id"] for a in json.load(sys.stdin)["data"] if a["status"]=="active"))')
lua="$data/checkin.lua"
python3 - "$lua" "${locs[*]}" "$members" <<'PY'
import sys
path, locs, members = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
lua = f"""
local locs = {{{", ".join(f'"{l}"' for l in locs)}}}
local members = {{{", ".join(f'"{m}"' for m in members)}}}
local i = 0
request = function()
  i = i + 1
  local m = members[(i % #members) + 1]
  local l = locs[(math.floor(i / #members) % #locs) + 1]
  return wrk.format("POST", nil, nil, '{{"memberId": "' .. m .. '", "locationId": "' .. l .. '", "duration": ' .. (20 + (i % 8) * 10) .. '}}')
end
"""
open(path, "w").write(lua)
open(path.replace("checkin.lua", "daily.lua"), "w").write(f"""
local members = {{{", ".join(f'"{m}"' for m in members)}}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/external/v1/members/" .. members[(i % #members) + 1] .. "/daily-wod?duration=45")
end
""")
PY
run() { # name conns, then wrk args
  local name=$1 conns=$2; shift 2
  local out rps p50 p99 non2xx
  out=$(wrk -t1 -c"$conns" -d"${duration}s" --latency "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%-10s c=%-3s %10s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$name" "$conns" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
echo "wrk: 1 thread, ${duration}s each, on 127.0.0.1 ($(nproc) cores); ${#locs[@]} locations, $(wc -w <<<"$members") members"
wrk -t1 -c4 -d2s "http://127.0.0.1:$port/health" >/dev/null
for c in 1 32; do
  run ceiling "$c" "http://127.0.0.1:$port/health"
  run check-in "$c" -s "$lua" "${auth[@]}" "$base/check-in"
  run daily-wod "$c" -s "$data/daily.lua" -H "Authorization: Bearer $key" "http://127.0.0.1:$port"
done
echo "iron-local peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
cargo run -q --release -p iron-domain --example wod_cost
