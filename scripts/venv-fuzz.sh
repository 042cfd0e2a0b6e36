#!/usr/bin/env bash
# Builds the fuzzing virtualenv (.venv-fuzz) from requirements-fuzz.txt and reuses it while
# that file is unchanged (a stamp holds its hash). Kept apart from .venv (Prefect) so that the
# two dependency sets never have to agree. Prints the venv's path; progress goes to stderr.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${GATEWAY_FUZZ_VENV:-$root/.venv-fuzz}"
req="$root/requirements-fuzz.txt"
want="$(sha256sum "$req" | cut -d' ' -f1)"
stamp="$venv/.requirements.sha256"
if [ -x "$venv/bin/schemathesis" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$venv"; exit 0
fi
exec 9>"$root/.venv-fuzz.lock"
flock 9
if [ -x "$venv/bin/schemathesis" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$venv"; exit 0
fi
echo "venv-fuzz: building $venv from requirements-fuzz.txt" >&2
rm -rf "$venv"
"${PYTHON:-python3}" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
echo "$want" >"$stamp"
echo "venv-fuzz: ready ($("$venv/bin/schemathesis" --version 2>/dev/null | head -1))" >&2
echo "$venv"
