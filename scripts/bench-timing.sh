#!/usr/bin/env bash
# Timing side channels: whether an answer's time tells an unknown email from a known one. Builds
# the release binary, serves a fresh SQLite database (and PostgreSQL when
# MOVIEBAG_BENCH_POSTGRES_URL is set) and prints, over BENCH_SAMPLES requests each (default 31),
# the median time of
#   - a login with an unknown email and a login with a wrong password (both verify one argon2
#     hash: the unknown email's against a dummy one), and
#   - a forgot-password request for a known and for an unknown email (both answer no sooner
#     than a 50 ms floor).
# The integration tests check what can be checked without a clock (a verification is run,
# the answers are identical); these figures are for a person to read: the medians of a pair
# should be within a few milliseconds.
#
#   scripts/bench-timing.sh
#   BENCH_SAMPLES=101 MOVIEBAG_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-timing.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SAMPLES=${BENCH_SAMPLES:-31}
KEY=benchmark-signing-key-0123456789abcdefghijkl
# MOVIEBAG_BIN: a binary already built (the figures of a debug build are not the release's).
if [ -n "${MOVIEBAG_BIN:-}" ]; then BIN=$MOVIEBAG_BIN; else cargo build --release --quiet; BIN=$PWD/target/release/movie-bag; fi
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Seconds each of $SAMPLES POSTs of $2 to $1 took -> median in milliseconds.
median_ms() {
  local url=$1 body=$2
  for _ in $(seq 1 "$SAMPLES"); do
    curl -s -o /dev/null -w '%{time_total}\n' -X POST "$url" -H 'content-type: application/json' -d "$body"
  done | sort -n | awk '{ t[NR] = $1 } END { printf "%.1f", t[int((NR + 1) / 2)] * 1000 }'
}

bench_backend() {
  local backend=$1 url=$2
  # The server picks its port and names it in its log.
  DATABASE_URL=$url JWT_SECRET_KEY=$KEY PORT=0 HOST=127.0.0.1 AUTH_RATE_LIMIT_PER_MINUTE=0 \
    ACCOUNT_FAILED_LOGIN_LIMIT=0 RUST_LOG=warn,movie_bag::startup=info NO_COLOR=1 \
    "$BIN" serve 2> "$work/server-$backend.log" &
  pid=$!
  local port=""
  for _ in $(seq 1 300); do
    port=$(sed 's/\x1b\[[0-9;]*m//g' "$work/server-$backend.log" | grep -o 'movie-bag listening.*address=[^ ]*' | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "the server did not start:" >&2; cat "$work/server-$backend.log" >&2; exit 1; }
  local base="http://127.0.0.1:$port"
  curl -sf -X POST "$base/api/auth/signup" -H 'content-type: application/json' \
    -d '{"email":"known@example.com","password":"benchmark password"}' > /dev/null || true # kept from a run before
  # One of each first, so that neither median pays for a first use.
  median_ms "$base/api/auth/login" '{"email":"known@example.com","password":"warm up"}' > /dev/null
  local unknown wrong known_forgot unknown_forgot
  unknown=$(median_ms "$base/api/auth/login" '{"email":"nobody@example.com","password":"benchmark password"}')
  wrong=$(median_ms "$base/api/auth/login" '{"email":"known@example.com","password":"not the password"}')
  known_forgot=$(median_ms "$base/api/auth/forgot" '{"email":"known@example.com"}')
  unknown_forgot=$(median_ms "$base/api/auth/forgot" '{"email":"nobody@example.com"}')
  printf "| %-8s | login: unknown email %7s ms | wrong password %7s ms | forgot: known %7s ms | unknown %7s ms |\n" \
    "$backend" "$unknown" "$wrong" "$known_forgot" "$unknown_forgot"
  kill "$pid"
  wait "$pid" 2> /dev/null || true
  pid=""
}

echo "medians of $SAMPLES requests each"
bench_backend sqlite "sqlite://$work/bench.db"
if [ -n "${MOVIEBAG_BENCH_POSTGRES_URL:-}" ]; then
  bench_backend postgres "$MOVIEBAG_BENCH_POSTGRES_URL"
fi
