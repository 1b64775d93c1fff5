#!/usr/bin/env bash
# The whole stack on one machine: several `matchmaker serve` instances (gunicorn, one worker each),
# the background worker, and HAProxy in front with sticky sessions and WebSocket upgrade, on
# PostgreSQL and Redis that are already running. Ctrl+C (or SIGTERM) stops everything it started.
#
# Settings (environment):
#   DATABASE_URL    postgresql+psycopg://postgres@127.0.0.1:5432/matchmaker
#   REDIS_URL       redis://127.0.0.1:6379/0 (Socket.IO message queue, login limits)
#   APP_PORTS       "8101 8102"   one instance per port
#   LB_PORT         8080          where HAProxy listens (on BIND, default 127.0.0.1)
#   STACK_DIR       a new private temporary folder: HAProxy's config, every log, each instance folder
#   MATCHMAKER_CMD  matchmaker    how to run the command line (e.g. ".venv/bin/matchmaker")
#   START_SECONDS   120           how long an instance may take to become ready
#   MATCHMAKER_SECRET_KEY         shared by every instance; generated into STACK_DIR when unset
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
export DATABASE_URL="${DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/matchmaker}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
APP_PORTS="${APP_PORTS:-8101 8102}"
LB_PORT="${LB_PORT:-8080}"
BIND="${BIND:-127.0.0.1}"
START_SECONDS="${START_SECONDS:-120}"
read -r -a matchmaker <<<"${MATCHMAKER_CMD:-matchmaker}"
python="${PYTHON:-python3}"

# Everything this stack writes lives in one folder of the user who runs it, never in /etc or /var.
STACK_DIR="${STACK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/matchmaker-stack.XXXXXX")}"
mkdir -p "$STACK_DIR"
chmod 700 "$STACK_DIR"

say() { echo "stack: $*"; }
fail() { echo "stack: $*" >&2; exit 1; }

command -v haproxy >/dev/null || fail "HAProxy is not installed (Debian: apt-get install haproxy)"

if [ -z "${MATCHMAKER_SECRET_KEY:-}" ]; then
  [ -f "$STACK_DIR/secret_key" ] || "$python" -c 'import secrets; print(secrets.token_hex(32))' >"$STACK_DIR/secret_key"
  MATCHMAKER_SECRET_KEY="$(cat "$STACK_DIR/secret_key")"
fi
export MATCHMAKER_SECRET_KEY
export SOCKETIO_MESSAGE_QUEUE="$REDIS_URL" MATCHMAKER_REDIS_URL="$REDIS_URL"
# HAProxy is the one proxy in front: trust its X-Forwarded-For, so login limits count per client.
export MATCHMAKER_PROXY_HOPS="${MATCHMAKER_PROXY_HOPS:-1}"

pids=()
stop() {
  trap - EXIT INT TERM
  [ "${#pids[@]}" -gt 0 ] || exit 0
  say "stopping ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 100); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 143' INT TERM

wait_ready() {  # URL NAME LOG: poll until the address answers 200, for at most START_SECONDS
  "$python" - "$1" "$START_SECONDS" <<'PY' || fail "$2 did not become ready; see $3"
import sys, time, urllib.request
url, limit = sys.argv[1], float(sys.argv[2])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            if answer.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
PY
}

say "folder $STACK_DIR"
say "database schema"
"${matchmaker[@]}" db upgrade >"$STACK_DIR/upgrade.log" 2>&1 || fail "db upgrade failed; see $STACK_DIR/upgrade.log"

servers=""
n=0
for port in $APP_PORTS; do
  n=$((n + 1))
  name="app$n"
  MATCHMAKER_INSTANCE_NAME="$name" MATCHMAKER_INSTANCE_PATH="$STACK_DIR/$name" \
    "${matchmaker[@]}" serve --host 127.0.0.1 --port "$port" >"$STACK_DIR/$name.log" 2>&1 &
  pids+=("$!")
  servers+="    server $name 127.0.0.1:$port cookie $name"$'\n'
  say "$name on 127.0.0.1:$port (log $STACK_DIR/$name.log)"
done

# --- background worker ----------------------------------------------------------------------------
# `matchmaker worker` runs queued jobs; it needs no port and is not behind the load balancer.
start_worker() {
  if "${matchmaker[@]}" worker --help >/dev/null 2>&1; then
    MATCHMAKER_INSTANCE_NAME=worker MATCHMAKER_INSTANCE_PATH="$STACK_DIR/worker" \
      "${matchmaker[@]}" worker >"$STACK_DIR/worker.log" 2>&1 &
    pids+=("$!")
    say "worker (log $STACK_DIR/worker.log)"
  else
    say "no 'matchmaker worker' command in this version: no background worker started"
  fi
}
start_worker
# ---------------------------------------------------------------------------------------------------

n=0
for port in $APP_PORTS; do
  n=$((n + 1))
  wait_ready "http://127.0.0.1:$port/readyz" "app$n" "$STACK_DIR/app$n.log"
done

sed -e "s/@BIND@/$BIND/" -e "s/@LB_PORT@/$LB_PORT/" "$here/haproxy.cfg.template" >"$STACK_DIR/haproxy.cfg"
printf '%s' "$servers" >>"$STACK_DIR/haproxy.cfg"
haproxy -c -q -f "$STACK_DIR/haproxy.cfg" >"$STACK_DIR/haproxy-check.log" 2>&1 \
  || fail "HAProxy refused $STACK_DIR/haproxy.cfg: $(cat "$STACK_DIR/haproxy-check.log")"
haproxy -db -f "$STACK_DIR/haproxy.cfg" >"$STACK_DIR/haproxy.log" 2>&1 &
pids+=("$!")
wait_ready "http://$BIND:$LB_PORT/healthz" "HAProxy" "$STACK_DIR/haproxy.log"
say "ready: http://$BIND:$LB_PORT  (Ctrl+C stops everything)"

# Stay in the foreground; if any part of the stack dies, stop the rest rather than limp on.
wait -n "${pids[@]}" || true
fail "a process of the stack exited; see the logs in $STACK_DIR"
