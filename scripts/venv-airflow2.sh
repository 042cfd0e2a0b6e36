#!/usr/bin/env bash
# Builds the reference Airflow's virtualenv (.venv-airflow2) from requirements-airflow2.txt
# and constraints-airflow2.txt with Python 3.11, from PyPI only, and reuses it while both are
# unchanged (a stamp file holds their hash). Prints the venv's path on stdout; progress goes
# to stderr. Environment: AIRFLOW2_VENV (where), PYTHON_AIRFLOW2 (which python).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AIRFLOW2_VENV:-$root/.venv-airflow2}"
req="$root/requirements-airflow2.txt"
lock="$root/constraints-airflow2.txt"
want="$(cat "$req" "$lock" | sha256sum | cut -d' ' -f1)"
stamp="$venv/.requirements.sha256"

ready() { [ -x "$venv/bin/airflow" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; }
if ready; then echo "$venv"; exit 0; fi

# Serialise concurrent builders (make unit beside make e2e, several test binaries).
exec 9>"$root/.venv-airflow2.lock"
flock 9
if ready; then echo "$venv"; exit 0; fi

python="${PYTHON_AIRFLOW2:-}"
if [ -z "$python" ]; then
  for p in python3.11 python3; do
    if command -v "$p" >/dev/null && [ "$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" = 3.11 ]; then
      python="$p"; break
    fi
  done
fi
[ -n "$python" ] || { echo "venv-airflow2: Python 3.11 is needed (set PYTHON_AIRFLOW2)" >&2; exit 1; }

echo "venv-airflow2: building $venv with apache-airflow 2.10.5 (first run takes a few minutes)" >&2
rm -rf "$venv"
"$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" -c "$lock" >&2
echo "$want" >"$stamp"
echo "venv-airflow2: ready (apache-airflow $("$venv/bin/python" -c 'import airflow; print(airflow.__version__)' 2>/dev/null))" >&2
echo "$venv"
