#!/usr/bin/env bash
# Backup benchmark (SQLite): seeds 1,000,000 movies, then measures `movie-bag backup` alone
# (time, size) and the reads a running server answers before and while a backup runs
# (requests/s and p99 with wrk: a movie by id and the first listing page).
#
#   scripts/bench-backup.sh            # BENCH_MOVIES=1000000 by default
set -euo pipefail
cd "$(dirname "$0")/.."
MOVIES=${BENCH_MOVIES:-1000000}
KEY=benchmark-signing-key-0123456789abcdefghijkl
if ! command -v wrk > /dev/null; then apt-get install -y -qq wrk > /dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk > /dev/null; }; fi
cargo build --release --quiet
BIN=$PWD/target/release/movie-bag
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT
export DATABASE_URL="sqlite://$work/movie-bag.db" JWT_SECRET_KEY=$KEY RUST_LOG=warn

started=$(date +%s.%N)
"$BIN" seed --movies "$MOVIES" > /dev/null 2>&1
echo "seeded $MOVIES movies in $(python3 -c "print(round($(date +%s.%N) - $started, 1))") s; database $(du -h "$work/movie-bag.db" | cut -f1)"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PORT=$port "$BIN" serve > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" > /dev/null && break; sleep 0.1; done
by_id="http://127.0.0.1:$port/api/movies/00000000-5eed-7000-8000-000000000001"
listing="http://127.0.0.1:$port/api/movies?limit=20"
curl -sf "$by_id" > /dev/null

# Prints "requests/s p99" for `seconds` of load on `url`.
load() {
  local url=$1 seconds=$2
  wrk -t2 -c16 -d"${seconds}s" --latency "$url" > "$work/wrk.txt"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  echo "$rps $p99"
}

# The backup alone.
started=$(date +%s.%N)
"$BIN" backup "$work/alone.db" > "$work/backup.txt"
alone=$(python3 -c "print(round($(date +%s.%N) - $started, 1))")
echo "backup alone: $alone s, $(stat -c %s "$work/alone.db") bytes ($(du -h "$work/alone.db" | cut -f1)); $(cat "$work/backup.txt")"
window=$(python3 -c "import math; print(max(3, math.ceil($alone)))")

for name in by_id listing; do
  url=${!name}
  read -r rps p99 < <(load "$url" "$window")
  echo "$name, no backup running ($window s): $rps requests/s, p99 $p99"
  "$BIN" backup --force "$work/during.db" > "$work/backup-during.txt" &
  backup_pid=$!
  read -r rps p99 < <(load "$url" "$window")
  wait "$backup_pid"
  echo "$name, while a backup runs ($window s): $rps requests/s, p99 $p99; $(cat "$work/backup-during.txt")"
done
