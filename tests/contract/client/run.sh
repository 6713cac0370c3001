#!/usr/bin/env bash
# The TypeScript client of the API contract: builds `corridor`, loads the
# demo data set into a temporary directory, serves it on a free loopback
# port, creates an observer and an analyst token, generates the client's
# types from the live /openapi.json with openapi-typescript (into
# generated/, not committed: the types are always those of the server under
# test), type-checks with `tsc --noEmit`, compiles into target/contract/client
# and runs src/client.test.ts with `node --test` against the server.
#
# Needs Node.js 20 or later and this folder's packages (`npm ci`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cd "$repo"

if [ ! -x "$here/node_modules/.bin/openapi-typescript" ]; then
    echo "tests/contract/client: run \`npm ci\` in tests/contract/client first" >&2
    exit 2
fi

cargo build -p corridor --locked --quiet
corridor="$repo/target/debug/corridor"
out="$repo/target/contract/client"
mkdir -p "$out"
data="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT

"$corridor" --data "$data/demo" demo >/dev/null
token() { "$corridor" --data "$data/demo" token create --name "ts-client-$1" --role "$1" 2>/dev/null; }
CORRIDOR_OBSERVER_TOKEN="$(token observer)"
CORRIDOR_ANALYST_TOKEN="$(token analyst)"
export CORRIDOR_OBSERVER_TOKEN CORRIDOR_ANALYST_TOKEN
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
"$corridor" --data "$data/demo" serve --addr "127.0.0.1:$port" >"$out/serve.log" 2>&1 &
server=$!
export CORRIDOR_URL="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -fsS "$CORRIDOR_URL/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "$CORRIDOR_URL/healthz" >/dev/null

cd "$here"
mkdir -p generated
node_modules/.bin/openapi-typescript "$CORRIDOR_URL/openapi.json" -o generated/api.d.ts
node_modules/.bin/tsc --noEmit
node_modules/.bin/tsc
# The compiled test is an ES module that imports openapi-fetch from this folder's packages.
printf '{"type": "module"}\n' >"$out/package.json"
ln -sfn "$here/node_modules" "$out/node_modules"
node --test "$out/src/client.test.js"
