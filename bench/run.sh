#!/usr/bin/env bash
# Load benchmark of the local stack (run by hand; figures go to docs/PERFORMANCE.md).
#
#   bench/run.sh [duration_s=20] [connections=32]
#
# Builds release binaries, starts iron-local on a fresh data dir, mints an Unlimited key with
# iron-admin, then loads, in the same run and alternately:
#   ceiling: GET /health (no auth, no storage)
#   read:    GET /api/external/v1/athletes?limit=25 with the Unlimited key
# with wrk on loopback (apt-get install wrk). Prints req/s, p50/p99 of each, their ratio and the
# server's peak RSS. Also: the Lambda binary's size and its cold start (bench/lambda_cold_start.py).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
conns=${2:-32}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk"; exit 1; }

cargo build --release -p iron-local -p iron-admin >&2
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=warn "$bin/iron-local" --port "$port" --data-dir "$data" >"$data/banner.txt" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do grep -q '^API key:' "$data/banner.txt" 2>/dev/null && break; sleep 0.1; done
business=$(grep -o 'biz_[0-9A-Z]*' "$data/banner.txt" | head -1)
key=$("$bin/iron-admin" --data-dir "$data" key mint --business "$business" --name bench --scopes all --tier unlimited | sed -n 's/^API key: //p')
base="http://127.0.0.1:$port"
curl -fsS -o /dev/null -H "Authorization: Bearer $key" "$base/api/external/v1/athletes?limit=25"
echo "response size of the read: $(curl -fsS -H "Authorization: Bearer $key" "$base/api/external/v1/athletes?limit=25" | wc -c) bytes"

run() { # name, then wrk args
  local name=$1; shift
  local out
  out=$(wrk -t1 -c"$conns" -d"${duration}s" --latency "$@")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%-8s %10s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
  echo "$rps" >"$data/$name.rps"
}
echo "wrk: 1 thread, $conns connections, ${duration}s each, on 127.0.0.1 ($(nproc) cores)"
wrk -t1 -c"$conns" -d3s "$base/health" >/dev/null   # warm-up
run ceiling "$base/health"
run read -H "Authorization: Bearer $key" "$base/api/external/v1/athletes?limit=25"
run ceiling "$base/health"
run read -H "Authorization: Bearer $key" "$base/api/external/v1/athletes?limit=25"
python3 -c "print('read/ceiling ratio (last pair): %.2f' % ($(cat "$data/read.rps") / $(cat "$data/ceiling.rps")))"
echo "iron-local peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"

echo "Lambda binaries and cold starts: bench/lambdas.sh"
