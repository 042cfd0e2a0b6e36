#!/usr/bin/env bash
# `make fuzz`: every Go fuzz target of translate/, gateway/ and prefect/ for a bounded time,
# then schemathesis against the gateway's own OpenAPI document with a real Prefect server
# behind the gateway. Fails on a crash, a 5xx, or an answer outside the spec.
#
#   FUZZTIME          time per Go fuzz target (default 10s)
#   SCHEMATHESIS_EXAMPLES  examples per operation (default 25)
#   SCHEMATHESIS_TIME      hard bound on the schemathesis run in seconds (default 300)
#   FUZZ_ONLY=go|api  run one half only
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzztime="${FUZZTIME:-10s}"
only="${FUZZ_ONLY:-}"
failed=()
summary=()

if [ "$only" != "api" ]; then
  echo "== Go fuzz targets, $fuzztime each"
  # "pkg FuzzName" for every fuzz function in the packages that parse caller input.
  mapfile -t targets < <(grep -rHoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' translate gateway prefect |
    sed -E 's#^([^:]+)/[^/]+:func (Fuzz[A-Za-z0-9_]+)#\1 \2#' | sort -u)
  for t in "${targets[@]}"; do
    pkg="${t% *}"; name="${t#* }"
    log="$(mktemp)"
    start=$(date +%s)
    ok=0
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "./$pkg" >"$log" 2>&1 && ok=1
    if [ "$ok" = 0 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
      # Go's fuzzer could not stop a worker busy with one slow input in time: no failing
      # input, no crash. Say so, and run the target once more.
      summary+=("slow  $pkg.$name: one input outlived the fuzz deadline (no failure recorded); ran again")
      go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "./$pkg" >"$log" 2>&1 && ok=1
    fi
    if [ "$ok" = 1 ]; then
      execs="$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)"
      summary+=("ok    $pkg.$name  ${execs:-?} execs in $(( $(date +%s) - start ))s")
    else
      summary+=("FAIL  $pkg.$name (failing input saved under $pkg/testdata/fuzz/$name)")
      failed+=("$pkg.$name")
      grep -v '^fuzz: elapsed' "$log" | tail -25
    fi
    rm -f "$log"
  done
  printf '%s\n' "${summary[@]}"
fi

if [ "$only" != "go" ]; then
  echo "== schemathesis against the gateway's spec, real Prefect behind it"
  fuzzvenv="$(scripts/venv-fuzz.sh)"
  venv="$(scripts/venv.sh)"
  state="$(mktemp -d)"
  gateway_pid=""
  cleanup() {
    [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null || true
    scripts/prefect-server.sh stop "$state/prefect" >/dev/null 2>&1 || true
    rm -rf "$state"
  }
  trap cleanup EXIT
  api_url="$(scripts/prefect-server.sh start "$state/prefect")"
  "$venv/bin/python" scripts/seed_demo.py "$api_url" >/dev/null
  go build -o "$state/gateway" ./cmd/airflow-prefect-gateway
  port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  GATEWAY_LOG_LEVEL=error "$state/gateway" --listen "127.0.0.1:$port" --auth-mode none \
    --prefect-api-url "$api_url" 2>"$state/gateway.log" &
  gateway_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/api/v1/version" >/dev/null 2>&1 && break
    sleep 0.1
  done
  base="http://127.0.0.1:$port/api/v1"
  set +e
  timeout "${SCHEMATHESIS_TIME:-300}" "$fuzzvenv/bin/schemathesis" run "$base/openapi.yaml" \
    --url "$base" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,fuzzing \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
    --request-timeout 30 \
    --workers 2 \
    --generation-deterministic \
    --no-color
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    failed+=("schemathesis (exit $rc)")
    echo "gateway log (last lines):"; tail -n 20 "$state/gateway.log"
  fi
fi

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: no crash, no 5xx, no answer outside the spec"
