#!/usr/bin/env bash
# Runs the official-client conformance suite (apache-airflow-client, pinned in
# requirements.txt) against a running gateway:
#
#   GATEWAY_URL=http://127.0.0.1:8080 PREFECT_API_URL=http://127.0.0.1:4200/api \
#     [GATEWAY_USER=admin GATEWAY_PASSWORD=secret] e2e/python/run.sh [pytest arguments]
#
# With neither GATEWAY_URL nor PREFECT_API_URL set, it starts its own: a Prefect server
# (scripts/prefect-server.sh, in a temporary directory) and the gateway (go run, auth mode
# "none"), and stops both afterwards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv="${VENV:-$(scripts/venv.sh)}"

if [ -z "${GATEWAY_URL:-}" ] && [ -z "${PREFECT_API_URL:-}" ]; then
  tmp="$(mktemp -d)"
  gw_pid=""
  cleanup() {
    if [ -n "$gw_pid" ]; then kill "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; fi
    scripts/prefect-server.sh stop "$tmp/prefect" || true
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  PREFECT_API_URL="$(scripts/prefect-server.sh start "$tmp/prefect")"
  port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  go build -o "$tmp/gateway" ./cmd/airflow-prefect-gateway
  "$tmp/gateway" --listen "127.0.0.1:$port" --prefect-api-url "$PREFECT_API_URL" --auth-mode none \
    >"$tmp/gateway.log" 2>&1 &
  gw_pid=$!
  GATEWAY_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fsS "$GATEWAY_URL/api/v1/version" >/dev/null 2>&1 && break
    kill -0 "$gw_pid" 2>/dev/null || { cat "$tmp/gateway.log" >&2; exit 1; }
    sleep 0.1
  done
  export GATEWAY_URL PREFECT_API_URL
  unset GATEWAY_USER GATEWAY_PASSWORD
fi

: "${GATEWAY_URL:?set GATEWAY_URL (the gateway root URL)}"
: "${PREFECT_API_URL:?set PREFECT_API_URL (the Prefect API the gateway uses)}"

# The task-instance tests need runs really executed: a Prefect runner serving
# e2e/flows/flows.py (E2E_RUNNER=0 when one already does, as under make test).
runner_pid=""
stop_runner() {
  if [ -n "$runner_pid" ]; then
    kill -TERM -- "-$runner_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$runner_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$runner_pid" 2>/dev/null || true
  fi
}
if [ "${E2E_RUNNER:-1}" != 0 ]; then
  runner_home="$(mktemp -d)"
  PREFECT_HOME="$runner_home" PREFECT_RUNNER_POLL_FREQUENCY=1 \
    setsid "$venv/bin/python" e2e/flows/flows.py >"$runner_home/runner.log" 2>&1 </dev/null &
  runner_pid=$!
  trap 'stop_runner; [ -n "${tmp:-}" ] && cleanup; rm -rf "$runner_home"' EXIT
  for dep in ti_pipeline/e2e ti_failing/e2e; do
    for _ in $(seq 1 600); do
      curl -fsS "$PREFECT_API_URL/deployments/name/$dep" >/dev/null 2>&1 && break
      kill -0 "$runner_pid" 2>/dev/null || { tail -n 30 "$runner_home/runner.log" >&2; exit 1; }
      sleep 0.2
    done
  done
fi
"$venv/bin/python" -m pytest e2e/python -q "$@"
