# The two commands of the README: `make run` and `make test`. Everything they need is
# installed by them: Go modules, the Prefect virtualenv (.venv), the reference Airflow's
# virtualenv (.venv-airflow2, which also ships Airflow's own v1.yaml), the servers.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := bin/airflow-prefect-gateway
UNIT_PKGS = $$($(GO) list ./... | grep -v '/e2e$$')

.PHONY: all build run test vet fmt-check unit e2e venv venv-airflow2 airflow-specs fuzz bench clean

all: build

# -buildvcs=auto: /api/v1/version's git_version is the commit stamped into the binary, even
# where GOFLAGS turns stamping off. CGO_ENABLED=0: a static binary, as in the image; without
# libc mapped it keeps 1.5 MB less resident.
build:
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -o $(BIN) ./cmd/airflow-prefect-gateway

# Puts the binary on PATH, so that the README's `airflow-prefect-gateway ...` lines run as
# printed: $(PREFIX)/bin (default /usr/local/bin; `make install PREFIX=$$HOME/.local` for a user
# install, whose bin must be on PATH). `go install ./cmd/airflow-prefect-gateway` also works
# (into $$(go env GOPATH)/bin).
PREFIX ?= /usr/local
.PHONY: install readme-check
install: build
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 $(BIN) "$(DESTDIR)$(PREFIX)/bin/airflow-prefect-gateway"

# Runs every bash, sh and python block of README.md, in order, against a `make run` of its
# own on free ports (scripts/readme-check.py says how, and how a block is marked as not
# runnable). Not part of `make test`: it takes minutes (a second Prefect, the client suite).
readme-check: venv
	@python3 scripts/readme-check.py

venv:
	@scripts/venv.sh >/dev/null

venv-airflow2:
	@scripts/venv-airflow2.sh >/dev/null

# Airflow's own OpenAPI documents, from the pinned packages: the drift tests and the e2e
# conformance checks read them (spec/spectest), so a plain clone needs nothing beside it.
airflow-specs: venv-airflow2
	@scripts/airflow-spec.sh v1 >/dev/null
	@scripts/airflow-spec.sh v2 >/dev/null

run:
	@scripts/run.sh

# go vet, gofmt, the unit tests, then the end-to-end tests against a real Prefect server
# (which also drive the gateway with the official Airflow client).
test: vet fmt-check unit e2e

vet:
	$(GO) mod download
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Unit tests under the race detector: pooled buffers, singleflight and concurrent Prefect
# calls are only checked for sharing mistakes with it. It needs cgo, which Go turns off on a
# machine without a C compiler; there the tests run without it.
RACE = $$([ "$$($(GO) env CGO_ENABLED)" = 1 ] && echo -race)
unit: airflow-specs
	$(GO) test $(RACE) -count=1 $(UNIT_PKGS)

e2e: venv airflow-specs
	$(GO) test -count=1 -timeout 30m -v ./e2e/ 2>&1 | grep -v -E '^=== (RUN|PAUSE|CONT)'

# Every Go fuzz target for FUZZTIME each (default 10s), then schemathesis (pinned, its own
# venv) against the gateway's spec with a real Prefect behind it. Not part of `make test`;
# the fuzz targets' seed corpora run as ordinary tests there.
fuzz:
	@scripts/fuzz.sh

# go test -bench (translation, hot handlers), then one load-generator run: gateway vs a bare
# reverse proxy on a stub Prefect, and gateway vs direct calls on a real Prefect server.
bench:
	@scripts/bench.sh

clean:
	rm -rf bin .run

# Conformance (README, "Conformance"): regenerate the table of Airflow's operations from
# Airflow's v1.yaml (apache-airflow 2.10.5's, in .venv-airflow2); run the official-client suite against a throwaway Prefect
# server and gateway (or the ones GATEWAY_URL and PREFECT_API_URL name).
.PHONY: spec conformance
spec: airflow-specs
	$(GO) test ./spec -run TestAirflowOperationsTable -update

conformance: venv
	e2e/python/run.sh
