#!/usr/bin/env bash
# Browser test of the HTML report: builds `corridor`, loads the demo data set
# into a temporary directory, writes the period report as HTML and opens it
# in headless Chromium (tests/browser/report.test.mjs, run by `node --test`).
# Then serves the same demo directory with `corridor serve` on a free
# loopback port and runs tests/browser/dashboard.test.mjs against it (the
# dashboard, the records behind a figure, the observer tally page with a
# token of the observer role).
#
# Needs /usr/bin/chromium (Debian package `chromium`, or set CHROMIUM),
# poppler-utils (pdfinfo, pdftotext, pdftoppm: the print test) and the Node
# packages of this folder (`npm ci`). Leaves the page, screenshots, the
# printed PDF and a picture of each printed page under target/browser/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
    echo "tests/browser: install poppler-utils (pdftotext, pdftoppm) first" >&2
    exit 2
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
    echo "tests/browser: run \`npm ci\` in tests/browser first" >&2
    exit 2
fi

cargo build -p corridor --locked --quiet
corridor="$repo/target/debug/corridor"
out="$repo/target/browser"
mkdir -p "$out"
data="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT

"$corridor" --data "$data/demo" demo >/dev/null
"$corridor" --data "$data/demo" report --from 2022-12-12 --to 2023-01-23 --format html -o "$out/report.html"
# The page is the report: it must verify against the log like the JSON does.
"$corridor" --data "$data/demo" report verify "$out/report.html" --log "$data/demo/log" --vkey "$data/demo/keys/log.vkey"

export CORRIDOR_REPORT_HTML="$out/report.html"
export CORRIDOR_BROWSER_OUT="$out"
cd "$here"
node --test report.test.mjs
echo "screenshot: $out/report.png"

# The dashboard and the observer page, served from the same demo directory.
token="$("$corridor" --data "$data/demo" token create --name browser-test --role observer 2>/dev/null)"
port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
"$corridor" --data "$data/demo" serve --addr "127.0.0.1:$port" >"$out/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$out/serve.log" >&2; exit 1; }
    sleep 0.2
done
CORRIDOR_SERVER_URL="http://127.0.0.1:$port" CORRIDOR_OBSERVER_TOKEN="$token" node --test dashboard.test.mjs
echo "screenshots: $out/dashboard.png, dashboard-phone.png, records.png, observer-phone.png"
