#!/usr/bin/env bash
# The contract, proven against a running iron-local (debug build, fresh data dir):
#   1. schemathesis runs every check over the OpenAPI document, in two phases with keys of their
#      own (Unlimited tier, so no 429 hides anything): every operation but /api-keys, then
#      /api-keys alone — so nothing can revoke or rotate the key the first phase runs with;
#   2. typed clients generated from the document run a smoke script each: TypeScript
#      (openapi-typescript + openapi-fetch, compiled with `tsc --strict`) and Python
#      (openapi-python-client): list and page, get, create, read a problem.
# `infra/test` runs it after the cargo tests (the binaries are built by then).
# CONTRACT_SEED=<n> runs schemathesis with another seed (the default is fixed, so CI is repeatable).
# Needs: schemathesis and openapi-python-client (PyPI), and in $NODE_PATH openapi-typescript,
# openapi-fetch and typescript@5 (npm) — infra/test installs them when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${CARGO_TARGET_DIR:-$PWD/target}/debug"
examples="${IRON_CONTRACT_EXAMPLES:-25}"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# With a fake Wodify of its own (a small gym): a connect never leaves the machine.
RUST_LOG=warn "$bin/iron-local" --port 0 --data-dir "$work/data" --fake-wodify --fake-wodify-clients 20 >"$work/banner.txt" 2>"$work/iron-local.log" &
pid=$!
for _ in $(seq 1 300); do grep -q '^API key:' "$work/banner.txt" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^  listening: *//p' "$work/banner.txt")
business=$(grep -o 'biz_[0-9A-Z]*' "$work/banner.txt" | head -1)
[ -n "$base" ] && [ -n "$business" ] || { cat "$work/iron-local.log"; echo "contract: iron-local: FAILED"; exit 1; }
mint() { "$bin/iron-admin" --data-dir "$work/data" key mint --business "$business" --name "$1" --scopes all --tier unlimited | sed -n 's/^API key: //p'; }
spec="$base/api/external/v1/openapi.json"
export PYTHONPATH="$PWD/infra/contract${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=hooks

status=0
report() { # what, exit status
  if [ "$2" -eq 0 ]; then echo "contract: $1: ok"; else echo "contract: $1: FAILED"; status=1; fi
}
run_schemathesis() { # phase name, key, filter arguments
  local name=$1 key=$2; shift 2
  echo "contract: schemathesis, $name ($examples examples per operation, every check)"
  local rc=0
  # Run from the scratch dir: schemathesis and hypothesis keep caches in the working directory.
  # The hooks look up what a request meets (a challenge's type, its teams) with the same key.
  (cd "$work" && IRON_BASE="$base" IRON_KEY="$key" schemathesis run "$spec" -H "Authorization: Bearer $key" --checks all --workers 1 \
    --max-examples "$examples" --seed "${CONTRACT_SEED:-20261201}" --phases examples,coverage,fuzzing,stateful \
    --suppress-health-check all --no-color "$@") || rc=$?
  report "schemathesis, $name" "$rc"
}
run_schemathesis "everything but API keys" "$(mint schemathesis)" --exclude-path-regex '/api-keys'
run_schemathesis "API keys" "$(mint schemathesis-keys)" --include-path-regex '/api-keys'

echo "contract: TypeScript client (openapi-typescript + openapi-fetch, tsc --strict)"
key=$(mint clients)
mkdir -p "$work/ts"
cp infra/contract/smoke.ts infra/contract/tsconfig.json "$work/ts/"
echo '{"type": "module"}' >"$work/ts/package.json"
ln -s "$NODE_PATH" "$work/ts/node_modules"
node "$NODE_PATH/openapi-typescript/bin/cli.js" docs/openapi.json -o "$work/ts/schema.d.ts" >/dev/null
rc=0
(cd "$work/ts" && node "$NODE_PATH/typescript/bin/tsc" -p . && IRON_BASE="$base" IRON_KEY="$key" node smoke.js) || rc=$?
report "TypeScript client" "$rc"

echo "contract: Python client (openapi-python-client)"
rc=0
openapi-python-client generate --path docs/openapi.json --output-path "$work/iron_client" --meta none >"$work/py-gen.log" 2>&1 \
  || { cat "$work/py-gen.log"; rc=1; }
[ "$rc" -ne 0 ] || IRON_BASE="$base" IRON_KEY="$key" PYTHONPATH="$work" python3 infra/contract/smoke.py || rc=$?
report "Python client" "$rc"
exit $status
