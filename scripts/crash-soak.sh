#!/usr/bin/env bash
# Soak test of crash safety: runs the server crash test
# (crates/corridor/tests/serve_crash.rs) again and again, each run with a new
# seed and ROUNDS kill-and-restart rounds, until DURATION seconds have passed.
# CI runs the same test once with 10 rounds; this is the long version, by hand.
#
# Usage: scripts/crash-soak.sh [ROUNDS] [DURATION_SECONDS]
#   ROUNDS            rounds per run (default 50; CORRIDOR_CRASH_ROUNDS)
#   DURATION_SECONDS  how long to keep starting runs (default 600)
#
# Each run's seed is chosen here and printed; a failing run stops the soak
# and prints the command that replays it. Output of each run is kept in
# target/crash-soak/run-N.log. Set CARGO_PROFILE=release to soak an
# optimized build (more requests per kill).
set -euo pipefail

rounds="${1:-50}"
duration="${2:-600}"
case "$rounds$duration" in
  *[!0-9]*) echo "usage: $0 [ROUNDS] [DURATION_SECONDS] (whole numbers)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
profile_flag=()
if [ "${CARGO_PROFILE:-dev}" = "release" ]; then
  profile_flag=(--release)
fi
# Build once, so that the time below is spent killing servers.
cargo test "${profile_flag[@]}" -p corridor --test serve_crash --no-run

logs=target/crash-soak
mkdir -p "$logs"
end=$(( $(date +%s) + duration ))
run=0
while [ "$(date +%s)" -lt "$end" ]; do
  run=$(( run + 1 ))
  seed=$(( ( $(date +%s%N) ^ (RANDOM << 16) ^ RANDOM ) | 1 ))
  seed=${seed#-}
  echo "run $run: seed $seed, $rounds rounds"
  if ! CORRIDOR_CRASH_SEED="$seed" CORRIDOR_CRASH_ROUNDS="$rounds" \
      cargo test "${profile_flag[@]}" -p corridor --test serve_crash -- --nocapture \
      >"$logs/run-$run.log" 2>&1; then
    echo "run $run FAILED (log: $logs/run-$run.log); replay with:" >&2
    echo "  CORRIDOR_CRASH_SEED=$seed CORRIDOR_CRASH_ROUNDS=$rounds cargo test ${profile_flag[*]} -p corridor --test serve_crash -- --nocapture" >&2
    exit 1
  fi
  grep -h "kills landed" "$logs/run-$run.log" || true
done
echo "crash soak passed: $run runs of $rounds rounds in ${duration}s"
