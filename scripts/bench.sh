#!/usr/bin/env bash
# `make bench`: the Go benchmarks (with allocations) of translation and the hot handlers, then
# one load-generator run that prints, measured in that one run:
#   (a)/(b) the gateway vs a bare httputil.ReverseProxy in front of the same stub Prefect:
#           throughput ratio, added p50/p99, the gateway's peak RSS, Prefect calls per operation;
#   (c)     list runs and trigger through the gateway vs the same calls made directly to a
#           real Prefect server (started here from the project venv, stopped at the end).
# Everything listens on 127.0.0.1; every load is bounded in requests and time.
#
#   BENCH_CONNECTIONS (64)  BENCH_DURATION (5s, at saturation)  BENCH_FIXED_DURATION (10s, at a fixed load)
#   BENCH_REAL_CONNECTIONS (4)  BENCH_REAL_DURATION (18s)
#   BENCH_GO=0 skips the go test -bench part; BENCH_REAL=0 skips (c); BENCH_HARDENING=0 skips
#   the hardening scenarios (bench/loadgen/hardening.go: dotted ids, batch lists, unknown ids,
#   fair share, login flood).
#   BENCH_SERVER_CPUS=1 runs the gateway and the proxy on CPU 1 (taskset) and the load
#   generator and stub on the others, so that they do not compete for a core.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
state="$(mktemp -d)"
cleanup() {
  scripts/prefect-server.sh stop "$state/prefect" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

if [ "${BENCH_GO:-1}" != "0" ]; then
  echo "== go test -bench (translation and hot handlers, with allocations)"
  go test -run '^$' -bench . -benchmem -benchtime "${BENCH_TIME:-1s}" ./bench/
fi

CGO_ENABLED=0 go build -o "$state/gateway" ./cmd/airflow-prefect-gateway # as make build and the image
go build -o "$state/loadgen" ./bench/loadgen
args=(compare -gateway "$state/gateway" -c "${BENCH_CONNECTIONS:-64}" -duration "${BENCH_DURATION:-5s}"
  -fixed-duration "${BENCH_FIXED_DURATION:-10s}"
  -real-c "${BENCH_REAL_CONNECTIONS:-4}" -real-duration "${BENCH_REAL_DURATION:-18s}")
pin=()
if [ -n "${BENCH_SERVER_CPUS:-}" ]; then
  command -v taskset >/dev/null || { echo "bench: BENCH_SERVER_CPUS needs taskset (util-linux)" >&2; exit 2; }
  args+=(-server-cpus "$BENCH_SERVER_CPUS")
  others="$(python3 -c "import os; s=set(range(os.cpu_count())) - {int(c) for c in '$BENCH_SERVER_CPUS'.split(',')}; print(','.join(map(str, sorted(s))))")"
  [ -n "$others" ] || { echo "bench: no CPU left for the load generator" >&2; exit 2; }
  pin=(taskset -c "$others")
fi
if [ "${BENCH_REAL:-1}" != "0" ]; then
  api_url="$(scripts/prefect-server.sh start "$state/prefect")"
  args+=(-prefect "$api_url")
fi
if [ "${BENCH_HARDENING:-1}" != "0" ]; then
  echo "== hardening: what hostile requests cost (stub Prefect, a fresh gateway per scenario)"
  "$state/loadgen" hardening -gateway "$state/gateway"
fi
echo "== load: gateway vs bare reverse proxy (stub Prefect), then gateway vs direct (real Prefect)"
"${pin[@]}" "$state/loadgen" "${args[@]}" 2> >(grep -v 'ReverseProxy read error' >&2)
