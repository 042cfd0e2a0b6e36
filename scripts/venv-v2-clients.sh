#!/usr/bin/env bash
# Builds the virtualenv of one Airflow 3 client that the /api/v2 end-to-end tests drive the
# gateway with, each apart from the others (and from .venv) so that their dependency sets
# never have to agree:
#
#   scripts/venv-v2-clients.sh client   apache-airflow-client 3.3.2 + pytest   (.venv-v2-client)
#   scripts/venv-v2-clients.sh ctl      apache-airflow-ctl (airflowctl)        (.venv-v2-ctl)
#   scripts/venv-v2-clients.sh mcp      airflow-mcp-server                     (.venv-v2-mcp)
#
# from requirements-v2-<name>.txt (pinned), reused while that file is unchanged (a stamp holds
# its hash). Prints the venv's path; progress goes to stderr.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="${1:-}"
case "$name" in
  client | ctl | mcp) ;;
  *) echo "usage: $0 client|ctl|mcp" >&2; exit 2 ;;
esac
venv="$root/.venv-v2-$name"
req="$root/requirements-v2-$name.txt"
want="$(sha256sum "$req" | cut -d' ' -f1)"
stamp="$venv/.requirements.sha256"
ready() { [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; }
if ready; then echo "$venv"; exit 0; fi
exec 9>"$root/.venv-v2-$name.lock"
flock 9
if ready; then echo "$venv"; exit 0; fi
echo "venv-v2-clients: building $venv from requirements-v2-$name.txt (first run takes a minute or two)" >&2
rm -rf "$venv"
"${PYTHON:-python3}" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
echo "$want" >"$stamp"
echo "venv-v2-clients: ready ($("$venv/bin/python" -m pip freeze 2>/dev/null | grep -iE '^(apache-airflow-client|apache-airflow-ctl|airflow-mcp-server)==' | tr '\n' ' '))" >&2
echo "$venv"
