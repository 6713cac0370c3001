#!/usr/bin/env bash
# Browser test of the HTML report: builds `corridor`, loads the demo data set
# into a temporary directory, writes the period report as HTML and opens it
# in headless Chromium (tests/browser/report.test.mjs, run by `node --test`).
#
# Needs /usr/bin/chromium (Debian package `chromium`, or set CHROMIUM) and
# the Node packages of this folder (`npm ci`). Leaves the page, screenshots
# and a PDF print under target/browser/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

if [ ! -d "$here/node_modules/playwright-core" ]; then
    echo "tests/browser: run \`npm ci\` in tests/browser first" >&2
    exit 2
fi

cargo build -p corridor --locked --quiet
corridor="$repo/target/debug/corridor"
out="$repo/target/browser"
mkdir -p "$out"
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT

"$corridor" --data "$data/demo" demo >/dev/null
"$corridor" --data "$data/demo" report --from 2022-12-12 --to 2023-01-23 --format html -o "$out/report.html"
# The page is the report: it must verify against the log like the JSON does.
"$corridor" --data "$data/demo" report verify "$out/report.html" --log "$data/demo/log" --vkey "$data/demo/keys/log.vkey"

export CORRIDOR_REPORT_HTML="$out/report.html"
export CORRIDOR_BROWSER_OUT="$out"
cd "$here"
node --test report.test.mjs
echo "screenshot: $out/report.png"
