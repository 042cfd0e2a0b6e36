#!/usr/bin/env bash
# Builds the project-local virtualenv (.venv) from requirements.txt (direct pins) and
# constraints.txt (the full lock), and reuses it while both are unchanged: a stamp file holds the hash of the requirements it was built from.
# Prints the venv's path on stdout; progress goes to stderr.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${GATEWAY_VENV:-$root/.venv}"
req="$root/requirements.txt"
lock="$root/constraints.txt"
python="${PYTHON:-python3}"
want="$(cat "$req" "$lock" | sha256sum | cut -d' ' -f1)"
stamp="$venv/.requirements.sha256"

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$venv"
  exit 0
fi

# Serialise concurrent builders (parallel test packages, make run beside make test).
exec 9>"$root/.venv.lock"
flock 9
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$venv"
  exit 0
fi

echo "venv: building $venv from requirements.txt (first run takes a few minutes)" >&2
rm -rf "$venv"
"$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" -c "$lock" >&2
echo "$want" >"$stamp"
echo "venv: ready ($("$venv/bin/prefect" version 2>/dev/null | awk '/^Version:/{print "prefect " $2}'))" >&2
echo "$venv"
