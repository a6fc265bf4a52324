#!/usr/bin/env bash
# The Lambda functions as deployed (`make lambdas`: the `lambda` profile, zig): each one's stripped
# size and its cold start (bench/lambda_cold_start.py, a local fake of the Runtime API; 20 runs,
# twice). API groups get an unauthenticated request (401: the whole stack, no network), docs
# `GET /health`, the dispatcher an SQS batch with a malformed message. Figures: docs/PERFORMANCE.md.
#
#   bench/lambdas.sh            # needs `pip install cargo-lambda ziglang`
set -euo pipefail
cd "$(dirname "$0")/.."
make lambdas >&2
dir="${CARGO_TARGET_DIR:-$PWD/target}/lambda"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 events/generate.py >/dev/null
for group in api-keys webhooks; do
  sed "s#\"/api/external/v1/athletes\"#\"/api/external/v1/$group\"#" events/apigw-athletes-unauthenticated.json >"$work/$group.json"
done
python3 - "$work/sqs.json" <<'PY'
import json, sys
e = json.load(open("events/sqs-delivery.json")); e["Records"][0]["body"] = "not a delivery"
json.dump(e, open(sys.argv[1], "w"))
PY
env=(--env TABLE_NAME=bench --env KMS_KEY_ID=bench --env DELIVERY_QUEUE_URL=http://127.0.0.1:1/queue/bench
     --env AWS_REGION=eu-west-1 --env AWS_ACCESS_KEY_ID=x --env AWS_SECRET_ACCESS_KEY=x)
for round in 1 2; do
  for spec in "athletes-api events/apigw-athletes-unauthenticated.json" "access-api $work/api-keys.json" \
              "webhooks-api $work/webhooks.json" "docs-api events/apigw-health.json" "webhook-dispatcher $work/sqs.json"; do
    set -- $spec
    size=$(stat -c %s "$dir/$1/bootstrap" | awk '{printf "%.1f MB", $1/1e6}')
    echo "round $round  $1  $size  $(python3 bench/lambda_cold_start.py "$dir/$1/bootstrap" "$2" --runs 20 "${env[@]}")"
  done
done
