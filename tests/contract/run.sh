#!/usr/bin/env bash
# The API contract checked by schemathesis (a tool nobody here wrote):
# builds `corridor`, loads the demo data set into a temporary directory,
# serves it on a free loopback port, creates a token per role, and runs
# `schemathesis run` with every check against /openapi.json once per role
# and once without a token. Each run is bounded (examples per operation and
# a time budget) and prints its seed; the stateful phase follows the
# document's links (submitRecords -> getRecord, createToken -> revokeToken).
#
# Needs schemathesis in .venv (scripts/python-tools.sh installs the pinned
# version). CORRIDOR_CONTRACT_SECONDS sets each run's budget (default 110),
# CORRIDOR_CONTRACT_SEED the seed (default: random, printed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

st="$repo/.venv/bin/schemathesis"
if [ ! -x "$st" ]; then
    echo "tests/contract: run scripts/python-tools.sh first (schemathesis in .venv)" >&2
    exit 2
fi
budget="${CORRIDOR_CONTRACT_SECONDS:-110}"
seed="${CORRIDOR_CONTRACT_SEED:-$(( (RANDOM << 15) | RANDOM ))}"

cargo build -p corridor --locked --quiet
corridor="$repo/target/debug/corridor"
out="$repo/target/contract"
mkdir -p "$out"
data="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT

"$corridor" --data "$data/demo" demo >/dev/null
token() { "$corridor" --data "$data/demo" token create --name "contract-$1" --role "$1" 2>/dev/null; }
observer="$(token observer)"
analyst="$(token analyst)"
admin="$(token admin)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
# The rate limit is raised so that the runs measure the contract, not the limiter.
"$corridor" --data "$data/demo" serve --addr "127.0.0.1:$port" --rate-limit 100000 >"$out/serve.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "$base/healthz" >/dev/null

echo "schemathesis $("$st" --version | tail -n 1), seed $seed, ${budget} s per run"
failed=0
for role in none observer analyst admin; do
    header=()
    case "$role" in
        observer) header=(-H "Authorization: Bearer $observer") ;;
        analyst) header=(-H "Authorization: Bearer $analyst") ;;
        admin) header=(-H "Authorization: Bearer $admin") ;;
    esac
    echo "== schemathesis as $role (seed $seed)"
    # Run from target/contract, where schemathesis keeps its cache. One
    # worker: with two, Hypothesis in both threads parses source with `ast`
    # at once, and CPython 3.11 (Debian's) then fails with "AST constructor
    # recursion depth mismatch", an error of the tool, not of the API.
    if ! (cd "$out" && "$st" --config-file "$here/schemathesis.toml" run "$base/openapi.json" \
        --checks all --max-examples 25 --max-time "$budget" --seed "$seed" --workers 1 \
        --request-timeout 20 --report junit --report-dir "$out/$role" \
        "${header[@]}"); then
        echo "== schemathesis as $role FAILED (seed $seed; reproduce with CORRIDOR_CONTRACT_SEED=$seed)" >&2
        failed=1
    fi
done
exit "$failed"
