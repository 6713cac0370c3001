#!/usr/bin/env bash
# Soak test of failover on PostgreSQL: runs the failover test
# (crates/corridor/tests/postgres_failover.rs, three servers on one database
# with clients submitting, the integrating server SIGKILLed at random points)
# again and again, each run with a new seed and ROUNDS kills, until
# DURATION seconds have passed. CI runs it once with 20 kills; this is the
# long version, by hand. It needs PostgreSQL's server binaries (Debian:
# apt-get install postgresql); the test starts its own throwaway cluster.
#
# Usage: scripts/failover-soak.sh [ROUNDS] [DURATION_SECONDS]
#   ROUNDS            kills per run (default 100; CORRIDOR_FAILOVER_ROUNDS)
#   DURATION_SECONDS  how long to keep starting runs (default 1800)
#
# Each run's seed is chosen here and printed; a failing run stops the soak
# and prints the command that replays it. Output of each run is kept in
# target/failover-soak/run-N.log.
set -euo pipefail

rounds="${1:-100}"
duration="${2:-1800}"
case "$rounds$duration" in
  *[!0-9]*) echo "usage: $0 [ROUNDS] [DURATION_SECONDS] (whole numbers)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
test_name=killing_the_integrating_server_loses_nothing_and_never_forks_the_log
# Build once, so that the time below is spent killing servers.
cargo test -p corridor --test postgres_failover --no-run

logs=target/failover-soak
mkdir -p "$logs"
end=$(( $(date +%s) + duration ))
run=0
while [ "$(date +%s)" -lt "$end" ]; do
  run=$(( run + 1 ))
  seed=$(( ( $(date +%s%N) ^ (RANDOM << 16) ^ RANDOM ) | 1 ))
  seed=${seed#-}
  echo "run $run: seed $seed, $rounds kills"
  if ! CORRIDOR_REQUIRE_POSTGRES=1 CORRIDOR_CRASH_SEED="$seed" CORRIDOR_FAILOVER_ROUNDS="$rounds" \
      cargo test -p corridor --test postgres_failover -- --exact "$test_name" --nocapture \
      >"$logs/run-$run.log" 2>&1; then
    echo "run $run FAILED (log: $logs/run-$run.log); replay with:" >&2
    echo "  CORRIDOR_REQUIRE_POSTGRES=1 CORRIDOR_CRASH_SEED=$seed CORRIDOR_FAILOVER_ROUNDS=$rounds cargo test -p corridor --test postgres_failover -- --exact $test_name --nocapture" >&2
    exit 1
  fi
  grep -h "kills, " "$logs/run-$run.log" || true
done
echo "failover soak passed: $run runs of $rounds kills in ${duration}s"
