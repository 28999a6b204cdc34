#!/usr/bin/env bash
# Lighthouse (issue 26): performance, accessibility, best practices and SEO of the catalogue, a
# movie page and the library page, each at least 95. A benchmark command, not a test.
#
#   scripts/lighthouse.sh                      # target/release/movie-bag
#   BIN=path/to/movie-bag scripts/lighthouse.sh
#
# Starts BIN on a fresh SQLite database in a temporary directory on a free port, seeds 100 movies
# (with the posters `movie-bag seed` draws), signs up a user who adds and rates a few movies
# through the API, then runs Lighthouse 12.2.3 (mobile, its default throttling) with Debian's
# chromium (CHROME_PATH, default /usr/bin/chromium) on `/`, `/movies/<id>` and `/library`. The
# catalogue is loaded as a visitor; the movie page and the library as the signed-in user (the
# session is written into localStorage the way web/api.js keeps it, and Lighthouse runs with
# `disableStorageReset`). Prints the four scores per page and exits 1 if any is under 95.
# Lighthouse and puppeteer-core are installed (pinned) into LH_DIR, default /tmp/lh.
# JSON reports are kept in OUT (default: the temporary directory, printed at the end).
set -euo pipefail

BIN=${BIN:-target/release/movie-bag}
CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
LH_DIR=${LH_DIR:-/tmp/lh}
MIN_SCORE=${MIN_SCORE:-95}
HERE=$(cd "$(dirname "$0")" && pwd)

[ -x "$BIN" ] || { echo "no binary at $BIN (set BIN)" >&2; exit 2; }
if ! [ -f "$LH_DIR/node_modules/lighthouse/package.json" ] ||
   [ "$(node -p "require('$LH_DIR/node_modules/lighthouse/package.json').version")" != 12.2.3 ]; then
  npm install --prefix "$LH_DIR" --no-audit --no-fund lighthouse@12.2.3 puppeteer-core@24.43.1 >&2
fi

WORK=$(mktemp -d /tmp/movie-bag-lighthouse.XXXXXX)
OUT=${OUT:-$WORK}
mkdir -p "$OUT"
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DB="sqlite://$WORK/movie-bag.db"
BASE="http://127.0.0.1:$PORT"

"$BIN" seed --movies 100 --database-url "$DB" >"$WORK/seed.log" 2>&1
AUTH_RATE_LIMIT_PER_MINUTE=0 "$BIN" serve --database-url "$DB" --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fs "$BASE/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$BASE/ready" >/dev/null || { echo "server did not start; see $WORK/server.log" >&2; exit 2; }

json() { curl -fsS -H 'content-type: application/json' "$@"; }
EMAIL=lighthouse@example.com
PASSWORD=lighthouse-password-26
json -X POST "$BASE/api/auth/signup" -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" >/dev/null
# The address is confirmed, as most people's is: the link the server would have emailed is in its
# log (no MAIL_SERVER). An unconfirmed account's pages show a banner about it.
VERIFY=""
for _ in $(seq 50); do
  VERIFY=$(grep -o '/verify?token=[A-Za-z0-9_-]*' "$WORK/server.log" | head -1 | cut -d= -f2) && [ -n "$VERIFY" ] && break
  sleep 0.1
done
json -X POST "$BASE/api/auth/verify" -d "{\"token\":\"$VERIFY\"}" >/dev/null
LOGIN=$(json -X POST "$BASE/api/auth/login" -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}")
TOKEN=$(node -p "JSON.parse(process.argv[1]).token" "$LOGIN")
IDS=$(curl -fsS "$BASE/api/movies?limit=7" | node -p "JSON.parse(require('fs').readFileSync(0)).map((m) => m.id).join(' ')")
set -- $IDS
# Four watched and rated, two on the watchlist. The movie page measured is the seventh, one not
# in the library: the page a signed-in visitor opens most, and the one that must not log a 404.
RATINGS=(4.5 3 5 2.5)
i=0
MOVIE=${7:?fewer than 7 movies}
for id in "${@:1:6}"; do
  if [ $i -lt 4 ]; then
    body="{\"status\":\"watched\",\"rating\":${RATINGS[$i]},\"watched_on\":\"2026-11-0$((i + 1))\"}"
  else
    body='{"status":"watchlist"}'
  fi
  json -X PUT -H "authorization: Bearer $TOKEN" "$BASE/api/users/me/library/$id" -d "$body" >/dev/null
  i=$((i + 1))
done

LH_DIR="$LH_DIR" CHROME_PATH="$CHROME_PATH" MIN_SCORE="$MIN_SCORE" OUT="$OUT" \
  node "$HERE/lighthouse.mjs" "$BASE" "$MOVIE" "$LOGIN"
