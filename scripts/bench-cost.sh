#!/usr/bin/env bash
# What one request costs the server, in CPU microseconds, beside its rate: a figure that stays
# comparable when the machine is not quiet (a build or another benchmark beside it changes the
# requests/s of both the route and /health, much less the CPU time each request takes).
# Serves the data set of scripts/bench.sh (1 user, 100 movies) on a fresh SQLite database with
# the given binary, runs /health and then each scenario with wrk, and prints per scenario the
# rate, its ratio to /health, the server's CPU time per request, and the SQLite writer thread's
# share of it.
#
#   scripts/bench-cost.sh BINARY create byid list
#   BENCH_FIELDS=3 scripts/bench-cost.sh OLD_BINARY create   # a binary from before issue 23:
#                                                            # name, casts and genres only
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "$1"); shift
DURATION=${BENCH_DURATION:-6}
KEY=benchmark-signing-key-0123456789abcdefghijkl
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
(cd "$work" && DATABASE_URL=sqlite://$work/db.sqlite JWT_SECRET_KEY=$KEY PORT=$port AUTH_RATE_LIMIT_PER_MINUTE=0 \
  RUST_LOG=warn exec "$BIN" serve 2> "$work/server.log") &
pid=$!
trap 'kill $pid 2> /dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "$base/ready" > /dev/null && break; sleep 0.1; done
credentials='{"email":"bench@example.com","password":"benchmark password"}'
curl -sf -X POST "$base/api/auth/signup" -H 'content-type: application/json' -d "$credentials" > /dev/null
export TOKEN RUN=$RANDOM
TOKEN=$(curl -sf -X POST "$base/api/auth/login" -H 'content-type: application/json' -d "$credentials" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
movie() { # i -> the JSON of the i-th movie of the data set
  if [ "${BENCH_FIELDS:-}" = 3 ]; then
    echo "{\"name\":\"Movie $1\",\"casts\":[\"Actor $1\",\"Actor $(($1 + 1))\"],\"genres\":[\"Drama\",\"Genre $(($1 % 7))\"]}"
  else
    echo "{\"name\":\"Movie $1\",\"year\":$((1950 + $1)),\"runtime\":$((80 + $1)),\"casts\":[\"Actor $1\",\"Actor $(($1 + 1))\"],\"directors\":[\"Director $(($1 % 9))\"],\"genres\":[\"Drama\",\"Genre $(($1 % 7))\"],\"overview\":\"Movie $1 of the benchmark: a one-line overview of the plot.\"}"
  fi
}
for i in $(seq 1 100); do
  MOVIE_ID=$(curl -sf -X POST "$base/api/movies" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "$(movie "$i")" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
done
create_script=scripts/wrk/create_movie.lua
if [ "${BENCH_FIELDS:-}" = 3 ]; then
  create_script=$work/create3.lua
  sed 's/"year":1995,"runtime":120,//; s/"directors":\["Bench Director"\],//; s/,"overview":"A benchmark movie about throughput."//' \
    scripts/wrk/create_movie.lua > "$create_script"
fi

WRK=(wrk)
if nice -n -10 true 2> /dev/null; then WRK=(nice -n -10 wrk); fi
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
writer_ticks() { # 0 for a backend without the writer thread
  local sum=0 task
  for task in /proc/"$pid"/task/*; do
    if grep -q sqlite-writer "$task/comm"; then sum=$(awk '{ print $14 + $15 }' "$task/stat"); fi
  done
  echo "$sum"
}
rate() { "${WRK[@]}" -t2 -c32 -d"${DURATION}s" "$@" | awk '/Requests\/sec/ { print $2 }'; }
hz=$(getconf CLK_TCK)
health=$(rate "$base/health")
printf "%-8s %10s %9s %12s %12s\n" scenario requests/s "% health" "cpu us/req" "writer us/req"
for scenario in "$@"; do
  case $scenario in
    create) args=(-s "$create_script" "$base") ;;
    byid) args=("$base/api/movies/$MOVIE_ID") ;;
    list) args=("$base/api/movies") ;;
    *) echo "unknown scenario $scenario (create, byid, list)" >&2; exit 2 ;;
  esac
  t0=$(ticks); w0=$(writer_ticks)
  r=$(rate "${args[@]}")
  t1=$(ticks); w1=$(writer_ticks)
  awk -v s="$scenario" -v r="$r" -v h="$health" -v t=$((t1 - t0)) -v w=$((w1 - w0)) -v d="$DURATION" -v hz="$hz" \
    'BEGIN { n = r * d; printf "%-8s %10.0f %8.1f%% %12.1f %12.1f\n", s, r, 100 * r / h, t * 1e6 / hz / n, w * 1e6 / hz / n }'
done
