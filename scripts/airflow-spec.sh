#!/usr/bin/env bash
# Prints the path of Airflow's own OpenAPI document, as the pinned package ships it:
#   scripts/airflow-spec.sh v1   apache-airflow 2.10.5's airflow/api_connexion/openapi/v1.yaml,
#                                from .venv-airflow2 (scripts/venv-airflow2.sh builds it)
#   scripts/airflow-spec.sh v2   apache-airflow-core 3.3.2's
#                                airflow/api_fastapi/core_api/openapi/v2-rest-api-generated.yaml,
#                                from the package alone (installed --no-deps into
#                                .airflow3-spec: only its files are needed, not a working Airflow 3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
  v1)
    venv="$("$root/scripts/venv-airflow2.sh")"
    path="$(echo "$venv"/lib/python3*/site-packages/airflow/api_connexion/openapi/v1.yaml)"
    ;;
  v2)
    dir="$root/.airflow3-spec"
    path="$dir/airflow/api_fastapi/core_api/openapi/v2-rest-api-generated.yaml"
    if [ ! -f "$path" ]; then
      exec 9>"$root/.airflow3-spec.lock"
      flock 9
      if [ ! -f "$path" ]; then
        echo "airflow-spec: installing apache-airflow-core 3.3.2 (files only) into $dir" >&2
        rm -rf "$dir.tmp"
        python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
          --target "$dir.tmp" 'apache-airflow-core==3.3.2' >&2
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
      fi
    fi
    ;;
  *) echo "usage: $0 v1|v2" >&2; exit 2 ;;
esac
[ -f "$path" ] || { echo "airflow-spec: $path is missing from the package" >&2; exit 1; }
echo "$path"
