#!/usr/bin/env bash
# Starts and stops a real, isolated Prefect server for development and tests:
# the pinned prefect from the project venv, SQLite in a temporary PREFECT_HOME, a free
# loopback port, UI and analytics off.
#
#   scripts/prefect-server.sh start DIR   start a server whose state lives in DIR; waits until
#                                         /api/health answers, then prints its API URL.
#                                         DIR/api_url, DIR/pid, DIR/server.log, DIR/version.
#   scripts/prefect-server.sh stop DIR    stop it (SIGTERM, then SIGKILL after 15 s).
#
# Environment: PREFECT_PORT (default: a free port), PREFECT_START_TIMEOUT (seconds, default
# 120), and any PREFECT_SERVER_* setting, passed through (e.g. PREFECT_SERVER_API_AUTH_STRING,
# PREFECT_SERVER_CSRF_PROTECTION_ENABLED). The scheduler and late-runs services are off unless
# PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED / _LATE_RUNS_ENABLED say otherwise, so runs move only
# when a test moves them; the UI is off unless PREFECT_SERVER_UI_ENABLED=true (make run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

stop_server() {
  local pidfile="$dir/pid"
  [ -f "$pidfile" ] || return 0
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    # The server was started in its own process group: signal the whole group so that
    # uvicorn's children go too.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "$cmd" in
  stop) stop_server; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

venv="$("$root/scripts/venv.sh")"
mkdir -p "$dir/home"
dir="$(cd "$dir" && pwd)"
port="${PREFECT_PORT:-$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
url="http://127.0.0.1:$port/api"

export PREFECT_HOME="$dir/home"
export PREFECT_SERVER_DATABASE_CONNECTION_URL="sqlite+aiosqlite:///$dir/home/prefect.db"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_UI_ENABLED="${PREFECT_SERVER_UI_ENABLED:-false}"
export PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="${PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED:-false}"
export PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED="${PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED:-false}"
export PREFECT_SERVER_SERVICES_FOREMAN_ENABLED="${PREFECT_SERVER_SERVICES_FOREMAN_ENABLED:-false}"
export PREFECT_API_URL="$url"
export PREFECT_LOGGING_LEVEL="${PREFECT_LOGGING_LEVEL:-WARNING}"
# The server must not pick up a client auth setting meant for the gateway.
unset PREFECT_API_KEY PREFECT_API_AUTH_STRING || true

version="$("$venv/bin/python" -c 'import prefect; print(prefect.__version__)')"
echo "$version" >"$dir/version"
echo "$url" >"$dir/api_url"

# setsid: own process group, so stop can take the whole tree down.
ui_flag=--no-ui
[ "$PREFECT_SERVER_UI_ENABLED" = true ] && ui_flag=--ui
setsid "$venv/bin/prefect" server start --host 127.0.0.1 --port "$port" "$ui_flag" --analytics-off \
  >"$dir/server.log" 2>&1 </dev/null &
echo $! >"$dir/pid"

deadline=$(( $(date +%s) + ${PREFECT_START_TIMEOUT:-120} ))
until "$venv/bin/python" - "$url/health" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
do
  if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    echo "prefect server exited during start; its log:" >&2
    tail -n 40 "$dir/server.log" >&2
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "prefect server did not become healthy in ${PREFECT_START_TIMEOUT:-120}s; its log:" >&2
    tail -n 40 "$dir/server.log" >&2
    stop_server
    exit 1
  fi
  sleep 0.5
done
echo "prefect server $version ready at $url (pid $(cat "$dir/pid"))" >&2
echo "$url"
