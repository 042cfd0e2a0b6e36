#!/usr/bin/env bash
# `make run`: a local Prefect server (unless PREFECT_API_URL names a reachable one), a demo
# flow and deployment, and the gateway in front of it with a demo user. Ctrl-C stops both.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
state="$root/.run"
mkdir -p "$state"
listen="${GATEWAY_LISTEN:-127.0.0.1:8080}"
demo_user="${DEMO_USER:-admin}"
demo_password="${DEMO_PASSWORD:-admin}"

# make does not pass a TERM on to its recipe: when whatever started this is gone (`timeout
# make run`, make killed), stop as on Ctrl-C rather than leave the servers running.
parent=$PPID
(while kill -0 "$parent" 2>/dev/null; do sleep 1; done; kill -TERM $$ 2>/dev/null) &
watchdog_pid=$!

venv="$(scripts/venv.sh)"
started_prefect=""
cleanup() {
  [ -n "${watchdog_pid:-}" ] && kill "$watchdog_pid" 2>/dev/null || true
  [ -n "${gateway_pid:-}" ] && kill "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null || true
  if [ -n "$started_prefect" ]; then scripts/prefect-server.sh stop "$state/prefect" || true; fi
}
trap cleanup EXIT INT TERM

reachable() {
  "$venv/bin/python" - "$1/health" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

if [ -n "${PREFECT_API_URL:-}" ] && reachable "$PREFECT_API_URL"; then
  echo "using the Prefect server at $PREFECT_API_URL"
else
  [ -n "${PREFECT_API_URL:-}" ] && echo "PREFECT_API_URL=$PREFECT_API_URL does not answer: starting a local server instead"
  scripts/prefect-server.sh stop "$state/prefect" >/dev/null 2>&1 || true
  rm -rf "$state/prefect"
  PREFECT_API_URL="$(PREFECT_PORT="${PREFECT_PORT:-4200}" scripts/prefect-server.sh start "$state/prefect")"
  started_prefect=1
  export PREFECT_API_URL
fi

"$venv/bin/python" scripts/seed_demo.py "$PREFECT_API_URL"

CGO_ENABLED=0 go build -buildvcs=auto -o bin/airflow-prefect-gateway ./cmd/airflow-prefect-gateway
{
  echo "# Demo users file written by make run."
  echo "users:"
  printf '%s' "$demo_password" | bin/airflow-prefect-gateway hash-password --username "$demo_user" --role Admin
} >"$state/users.yaml"

GATEWAY_LOG_FORMAT="${GATEWAY_LOG_FORMAT:-console}" \
GATEWAY_USERS_FILE="$state/users.yaml" \
GATEWAY_LISTEN="$listen" \
  bin/airflow-prefect-gateway &
gateway_pid=$!

for _ in $(seq 1 100); do
  curl -fsS "http://$listen/api/v1/version" >/dev/null 2>&1 && break
  kill -0 "$gateway_pid" 2>/dev/null || { echo "the gateway did not start" >&2; exit 1; }
  sleep 0.1
done

cat <<TXT

airflow-prefect-gateway is serving Airflow's API at http://$listen/api/v1
in front of Prefect at $PREFECT_API_URL. Demo user: $demo_user / $demo_password (Admin).

  curl -s http://$listen/api/v1/health
  curl -s -u $demo_user:$demo_password http://$listen/api/v1/dags
  curl -s -u $demo_user:$demo_password -X POST http://$listen/api/v1/dags/etl.daily/dagRuns \\
       -H 'Content-Type: application/json' -d '{"conf": {"batch_size": 100}}'
  curl -s -u $demo_user:$demo_password 'http://$listen/api/v1/dags/etl.daily/dagRuns?order_by=-execution_date&limit=5'

Ctrl-C stops the gateway$( [ -n "$started_prefect" ] && echo " and the Prefect server" ).
TXT
wait "$gateway_pid"
