#!/usr/bin/env bash
# Builds the Dagster Airlift virtualenv (.venv-airlift) from requirements-airlift.txt and reuses
# it while that file is unchanged (a stamp holds its hash). Kept apart from .venv (Prefect) so
# that the two dependency sets never have to agree. Prints the venv's path; progress goes to
# stderr.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${GATEWAY_AIRLIFT_VENV:-$root/.venv-airlift}"
req="$root/requirements-airlift.txt"
want="$(sha256sum "$req" | cut -d' ' -f1)"
stamp="$venv/.requirements.sha256"
ready() { [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; }
if ready; then echo "$venv"; exit 0; fi
exec 9>"$root/.venv-airlift.lock"
flock 9
if ready; then echo "$venv"; exit 0; fi
echo "venv-airlift: building $venv from requirements-airlift.txt (first run takes a few minutes)" >&2
rm -rf "$venv"
"${PYTHON:-python3}" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
echo "$want" >"$stamp"
echo "venv-airlift: ready (dagster-airlift $("$venv/bin/python" -c 'import dagster_airlift; print(dagster_airlift.__version__)' 2>/dev/null))" >&2
echo "$venv"
