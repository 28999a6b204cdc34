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
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

fuzz() {
  local backend=$1 database_url=$2
  local port; port=$(free_port)
  local base="http://127.0.0.1:$port"
  echo "== fuzzing on $backend"
  DATABASE_URL=$database_url JWT_SECRET_KEY=$KEY AUTH_RATE_LIMIT_PER_MINUTE=0 PORT=$port RUST_LOG=warn \
    "$BIN" serve > "$work/$backend.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -sf "$base/ready" > /dev/null && break; sleep 0.2; done
  curl -sf "$base/ready" > /dev/null || { cat "$work/$backend.log"; echo "server did not start"; return 1; }

  # An admin account with a few movies, so authenticated and admin paths are exercised. A pass
  # may end its own session (logout, password change) or delete its own account (the admin
  # endpoints let it), so each pass gets the account back and a fresh token.
  local credentials='{"email": "fuzzer@example.com", "password": "fuzzing password"}'
  fresh_token() {
    curl -s -o /dev/null -X POST "$base/api/auth/signup" -H 'content-type: application/json' -d "$credentials"
    DATABASE_URL=$database_url JWT_SECRET_KEY=$KEY RUST_LOG=warn "$BIN" user promote fuzzer@example.com > /dev/null
    curl -sf -X POST "$base/api/auth/login" -H 'content-type: application/json' -d "$credentials" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
  }
  local token; token=$(fresh_token)
  for name in Heat Ronin Alien; do
    curl -sf -X POST "$base/api/movies" -H "authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"name\": \"$name\", \"casts\": [\"Someone\"], \"genres\": [\"Drama\"]}" > /dev/null
  done

  local session='--include-path /api/auth/logout --include-path /api/auth/logout-all --include-path /api/auth/password --include-path /api/users/me'
  local admin='--include-path /api/users/{id}'
  # shellcheck disable=SC2086 # the path lists are meant to split into words
  for pass in catalogue admin session; do
    case $pass in
      catalogue) filter="$(echo "$session $admin" | sed 's/--include-path/--exclude-path/g')" ;;
      admin) filter=$admin ;;
      session) filter=$session ;;
    esac
    echo "-- $backend: $pass pass"
    "$VENV/bin/st" run "$base/api/openapi.json" --checks "$CHECKS" -H "Authorization: Bearer $(fresh_token)" \
      --max-examples "$EXAMPLES" --seed 20261129 --workers 1 --no-color $filter
  done

  if grep -E '(ERROR|panicked)' "$work/$backend.log"; then
    echo "the server logged errors while fuzzed on $backend"
    return 1
  fi
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

fuzz sqlite "sqlite://$work/fuzz.db"
if [ -n "${MOVIEBAG_TEST_POSTGRES_URL:-}" ]; then
  db="moviebag_fuzz_$$"
  psql "$MOVIEBAG_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  fuzz postgres "${MOVIEBAG_TEST_POSTGRES_URL%/*}/$db"
  psql "$MOVIEBAG_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
fi
echo "fuzzing passed"
