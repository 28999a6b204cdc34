#!/usr/bin/env bash
# Import benchmark: builds the release binary, writes mongoexport-style files (10,000 users and
# 100,000 movies; 1,000,000 movies for the memory figure, once tidy and once with two report
# notes per movie), imports them into a fresh SQLite database (and PostgreSQL when
# MOVIEBAG_BENCH_POSTGRES_URL is set), and prints movies/s and peak RSS.
#
#   scripts/bench-import.sh
#   MOVIEBAG_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-import.sh
#   BENCH_IMPORT_LARGE=0 scripts/bench-import.sh    # without the 1,000,000-movie runs
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=$PWD/target/release/movie-bag
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

scripts/make_export.py "$work/100k" 10000 100000
LARGE=${BENCH_IMPORT_LARGE:-1}   # 0: skip the 1,000,000-movie runs
[ "$LARGE" = 1 ] && scripts/make_export.py "$work/1m" 10000 1000000
[ "$LARGE" = 1 ] && scripts/make_export.py "$work/1m-untidy" 10000 1000000 --untidy
echo "files: 100k movies $(du -h "$work/100k/movie.json" | cut -f1)"

# Runs one import; prints wall seconds, movies/s and peak RSS.
run_import() {
  local label=$1 url=$2 dir=$3 movies=$4
  /usr/bin/time -f '%e %M' -o "$work/time.txt" env DATABASE_URL="$url" JWT_SECRET_KEY=benchmark-signing-key-0123456789abcdefghijkl \
      "$BIN" import --users "$dir/user.json" --movies "$dir/movie.json" > "$work/report.txt" 2> "$work/stderr.txt"
  local timing
  timing=$(tail -n 1 "$work/time.txt")
  local seconds=${timing% *} rss_kib=${timing#* }
  tail -n 1 "$work/report.txt" | sed 's/^/    /'
  python3 - "$label" "$seconds" "$rss_kib" "$movies" <<'PY'
import sys
label, seconds, rss, movies = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"{label}: {movies} movies in {seconds:.2f} s = {movies / seconds:,.0f} movies/s (whole command); peak RSS {rss / 1024:.0f} MiB")
PY
}

if ! command -v /usr/bin/time > /dev/null; then apt-get install -y -qq time > /dev/null; fi
run_import "SQLite, 10k users + 100k movies" "sqlite://$work/a.db" "$work/100k" 100000
[ "$LARGE" = 1 ] && run_import "SQLite, 10k users + 1M movies" "sqlite://$work/b.db" "$work/1m" 1000000
[ "$LARGE" = 1 ] && run_import "SQLite, 10k users + 1M untidy movies (2M notes)" "sqlite://$work/c.db" "$work/1m-untidy" 1000000
if [ -n "${MOVIEBAG_BENCH_POSTGRES_URL:-}" ]; then
  for name in moviebag_bench_import_a moviebag_bench_import_b; do
    psql "$MOVIEBAG_BENCH_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $name" -qc "CREATE DATABASE $name"
  done
  base=${MOVIEBAG_BENCH_POSTGRES_URL%/*}
  run_import "PostgreSQL, 10k users + 100k movies" "$base/moviebag_bench_import_a" "$work/100k" 100000
  [ "$LARGE" = 1 ] && run_import "PostgreSQL, 10k users + 1M movies" "$base/moviebag_bench_import_b" "$work/1m" 1000000
  for name in moviebag_bench_import_a moviebag_bench_import_b; do
    psql "$MOVIEBAG_BENCH_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $name"
  done
fi
