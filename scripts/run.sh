#!/usr/bin/env bash
# `make run`: a local Prefect server with its scheduler and UI (unless PREFECT_API_URL names a
# reachable one), the demo flow `etl` served by a real Prefect runner (deployment `daily`,
# scripts/demo/etl.py), and the gateway in front of them with a demo user. Ctrl-C stops
# everything this script started.
# Each start wipes the local Prefect's state (.run/prefect) unless KEEP_STATE=1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
state="${RUN_STATE_DIR:-$root/.run}"
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
  # The runner leads its own process group: its flow-run processes go with it.
  if [ -n "${runner_pid:-}" ]; then
    kill -TERM -- "-$runner_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$runner_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$runner_pid" 2>/dev/null || true
  fi
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
  if [ "${KEEP_STATE:-}" = 1 ]; then
    echo "make run: KEEP_STATE=1: keeping the Prefect state in ${state#"$root"/}/prefect (runs, deployments, variables)"
  else
    echo "make run: starting Prefect afresh: the state of the last make run (${state#"$root"/}/prefect) is wiped; KEEP_STATE=1 make run keeps it"
    rm -rf "$state/prefect"
  fi
  # The demo's runs are really executed: Prefect's scheduler makes the daily runs, its
  # late-runs service marks overdue ones, and its UI shows them.
  PREFECT_API_URL="$(PREFECT_PORT="${PREFECT_PORT:-4200}" PREFECT_SERVER_UI_ENABLED=true \
    PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED=true PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED=true \
    scripts/prefect-server.sh start "$state/prefect")"
  started_prefect=1
  export PREFECT_API_URL
fi

# The runner serves deployment etl/daily and executes its runs in processes of its own; task
# results are persisted (JSON) under $state/results, which the gateway may read for XComs.
mkdir -p "$state/runner-home" "$state/results"
PREFECT_HOME="$state/runner-home" PREFECT_LOCAL_STORAGE_PATH="$state/results" \
PREFECT_RUNNER_POLL_FREQUENCY="${PREFECT_RUNNER_POLL_FREQUENCY:-2}" PREFECT_LOGGING_LEVEL=INFO \
  setsid "$venv/bin/python" scripts/demo/etl.py >"$state/runner.log" 2>&1 </dev/null &
runner_pid=$!
for _ in $(seq 1 300); do
  "$venv/bin/python" - "$PREFECT_API_URL/deployments/name/etl/daily" <<'PY' 2>/dev/null && break
import base64, os, sys, urllib.request
req = urllib.request.Request(sys.argv[1])
auth = os.environ.get("PREFECT_API_AUTH_STRING")
if auth:
    req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
with urllib.request.urlopen(req, timeout=3) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
  kill -0 "$runner_pid" 2>/dev/null || { echo "the demo runner exited; its log:" >&2; tail -n 30 "$state/runner.log" >&2; exit 1; }
  sleep 0.2
done

CGO_ENABLED=0 go build -buildvcs=auto -o bin/airflow-prefect-gateway ./cmd/airflow-prefect-gateway
{
  echo "# Demo users file written by make run."
  echo "users:"
  printf '%s' "$demo_password" | bin/airflow-prefect-gateway hash-password --username "$demo_user" --role Admin
} >"$state/users.yaml"

GATEWAY_LOG_FORMAT="${GATEWAY_LOG_FORMAT:-console}" \
GATEWAY_USERS_FILE="$state/users.yaml" \
GATEWAY_RESULT_STORAGE_PATHS="${GATEWAY_RESULT_STORAGE_PATHS:-$state/results}" \
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
in front of Prefect at $PREFECT_API_URL (UI: ${PREFECT_API_URL%/api}).
Demo user: $demo_user / $demo_password (Admin). DAG etl.daily runs on a Prefect runner
(its log: $state/runner.log).

  curl -s http://$listen/api/v1/health
  curl -s -u $demo_user:$demo_password http://$listen/api/v1/dags
  curl -s -u $demo_user:$demo_password -X POST http://$listen/api/v1/dags/etl.daily/dagRuns \\
       -H 'Content-Type: application/json' -d '{"conf": {"batch_size": 100}}'
  curl -s -u $demo_user:$demo_password 'http://$listen/api/v1/dags/etl.daily/dagRuns?order_by=-execution_date&limit=5'
  curl -s -u $demo_user:$demo_password 'http://$listen/api/v1/dags/etl.daily/dagRuns/~/taskInstances?limit=5'

Ctrl-C stops the gateway, the runner$( [ -n "$started_prefect" ] && echo " and the Prefect server" ).
TXT
wait "$gateway_pid"
