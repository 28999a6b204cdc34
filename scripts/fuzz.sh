#!/usr/bin/env bash
# API fuzzing: Schemathesis against the live server's own /api/openapi.json, authenticated,
# with the checks not_a_server_error, status_code_conformance and response_schema_conformance.
# Runs on SQLite, and on PostgreSQL too when MOVIEBAG_TEST_POSTGRES_URL is set.
#
#   scripts/fuzz.sh                 # installs Schemathesis into target/schemathesis-venv once
#   FUZZ_EXAMPLES=100 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
VENV=${ST_VENV:-target/schemathesis-venv}
EXAMPLES=${FUZZ_EXAMPLES:-30}
KEY=wy52E0cBUw4c+gG9qc4HD48i4nwU42mpzHSQXJTt3TmvR4kguYgIl8T5UfUEXEjF
CHECKS=not_a_server_error,status_code_conformance,response_schema_conformance

if [ ! -x "$VENV/bin/st" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$ST_VERSION"
fi
cargo build --quiet
BIN=target/debug/movie-bag
work=$(mktemp -d)
server_pid=""
pg_db=""
# Whatever fails, and wherever: the server stops, the PostgreSQL database goes, the files go.
# (`fuzz` is called plainly, never in `||` or `if`, so `set -e` holds inside it.)
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$pg_db" ]; then
    psql "$MOVIEBAG_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts the server on a free port, setting server_pid and base. A port found free is released
# before the server binds it, and another process may take it meanwhile: then the server exits
# ("cannot listen") and the start is retried on a fresh port. /ready must be answered while our
# own process lives, not by whoever took the port.
start_server() {
  local backend=$1 database_url=$2 port
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    base="http://127.0.0.1:$port"
    DATABASE_URL=$database_url JWT_SECRET_KEY=$KEY AUTH_RATE_LIMIT_PER_MINUTE=0 PORT=$port RUST_LOG=warn \
      "$BIN" serve > "$work/$backend.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      if curl -sf "$base/ready" > /dev/null && kill -0 "$server_pid" 2>/dev/null; then
        return 0
      fi
      sleep 0.2
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      cat "$work/$backend.log"; echo "server did not become ready on port $port"; return 1
    fi
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    grep -q 'cannot listen' "$work/$backend.log" || { cat "$work/$backend.log"; echo "server did not start"; return 1; }
    echo "port $port was taken before the server bound it; trying another"
  done
  echo "server found no free port"
  return 1
}

fuzz() {
  local backend=$1 database_url=$2 base
  echo "== fuzzing on $backend"
  start_server "$backend" "$database_url" || return 1

  # An admin account with a few movies, so authenticated and admin paths are exercised. A pass
  # may end its own session (logout, password change) or delete its own account (the admin
  # endpoints let it), so each pass gets the account back and a fresh token. Any step failing
  # is fatal: fuzzing with a missing or refused token would pass on 401s alone.
  local credentials='{"email": "fuzzer@example.com", "password": "fuzzing password"}'
  local token
  fresh_token() {
    token=""
    # 200, or 409 when the account is still there from the last pass.
    local signup
    signup=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/api/auth/signup" \
      -H 'content-type: application/json' -d "$credentials") || { echo "signup did not answer"; return 1; }
    case $signup in 200|409) ;; *) echo "signup answered $signup"; return 1 ;; esac
    DATABASE_URL=$database_url JWT_SECRET_KEY=$KEY RUST_LOG=warn "$BIN" user promote fuzzer@example.com > /dev/null \
      || { echo "cannot promote the fuzzing account to admin"; return 1; }
    local login
    login=$(curl -sf -X POST "$base/api/auth/login" -H 'content-type: application/json' -d "$credentials") \
      || { echo "the fuzzing account cannot log in"; return 1; }
    token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<< "$login") \
      || { echo "no token in the login answer: $login"; return 1; }
    [ -n "$token" ] || { echo "an empty token"; return 1; }
    # The token works, as an admin's: /api/users is admins only.
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/users" -H "authorization: Bearer $token") || status=none
    [ "$status" = 200 ] || { echo "the fuzzing token is refused by GET /api/users ($status)"; return 1; }
  }
  fresh_token || return 1
  for name in Heat Ronin Alien; do
    curl -sf -X POST "$base/api/movies" -H "authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"name\": \"$name\", \"casts\": [\"Someone\"], \"genres\": [\"Drama\"]}" > /dev/null \
      || { echo "cannot create the movie $name"; return 1; }
  done

  # Operations that may end the pass's own session: DELETE /api/auth/sessions/{id} too, whose id
  # Schemathesis can take from GET /api/auth/sessions.
  local session='--include-path /api/auth/logout --include-path /api/auth/logout-all --include-path /api/auth/password --include-path /api/users/me --include-path /api/auth/sessions/{id}'
  local admin='--include-path /api/users/{id}'
  # shellcheck disable=SC2086 # the path lists are meant to split into words
  for pass in catalogue admin session; do
    case $pass in
      catalogue) filter="$(echo "$session $admin" | sed 's/--include-path/--exclude-path/g')" ;;
      admin) filter=$admin ;;
      session) filter=$session ;;
    esac
    echo "-- $backend: $pass pass"
    fresh_token || return 1
    "$VENV/bin/st" run "$base/api/openapi.json" --checks "$CHECKS" -H "Authorization: Bearer $token" \
      --max-examples "$EXAMPLES" --seed 20261129 --workers 1 --no-color $filter || return 1
  done

  if grep -E '(ERROR|panicked)' "$work/$backend.log"; then
    echo "the server logged errors while fuzzed on $backend"
    return 1
  fi
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

fuzz sqlite "sqlite://$work/fuzz.db"
if [ -n "${MOVIEBAG_TEST_POSTGRES_URL:-}" ]; then
  pg_db="moviebag_fuzz_$$"
  psql "$MOVIEBAG_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $pg_db" -c "CREATE DATABASE $pg_db"
  fuzz postgres "${MOVIEBAG_TEST_POSTGRES_URL%/*}/$pg_db"
fi
echo "fuzzing passed"
