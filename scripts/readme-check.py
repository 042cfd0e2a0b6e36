#!/usr/bin/env python3
"""`make readme-check`: runs README.md's examples as a newcomer would, against `make run`.

What runs: every fenced block whose language is bash, sh or python, in the order of the
README, in one bash session (so a variable set in one block is there in the next, as in a
terminal; python blocks run with the project venv's interpreter). A block is not run when
the line just before its fence is a marker with a reason:

    <!-- readme-check: skip needs Docker -->

Where it runs: scripts/run.sh (what `make run` runs) on free loopback ports; in the blocks,
127.0.0.1:8080 (make run's gateway), 127.0.0.1:4200 (its Prefect) and 127.0.0.1:8081 (the
README's port for a second gateway) become those free ports, so that the check can share a
machine with other servers. `make install PREFIX=<tmp>` puts the binary first on PATH, HOME is
a fresh temporary directory, and the working directory is the repository's root.

What fails: a command that exits non-zero (curl's own failures: refused, reset, timed out),
a 5xx answer (501 included) to any curl of a block, from make run's gateway or one the block
starts, or a block during which make run's gateway answered a URL no route matches (or a 5xx
to a client that is not curl), counted from its /metrics. The blocks see PREFECT_API_URL set
to make run's Prefect, which is what the default URL names on a machine where make run holds
127.0.0.1:4200. Documented 4xx answers (409s, 404s) are fine. The first
failing block stops the check, with its README line.

Knobs: READMECHECK_KEEP=1 keeps the temporary directory; READMECHECK_TIMEOUT (s, default 900).
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FENCE = re.compile(r"^```(\w+)\s*$")
MARKER = re.compile(r"^<!--\s*readme-check:\s*skip\s+(\S.*?)\s*-->\s*$")


def blocks(text):
    """Yields (line number, language, code, skip reason or None) for each fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        prev = lines[start - 1] if start > 0 else ""
        skip = MARKER.match(prev)
        yield start + 1, lang, "\n".join(lines[start + 1:j]) + "\n", skip.group(1) if skip else None
        i = j + 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, auth, deadline):
    req = urllib.request.Request(url)
    if auth:
        import base64
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                body = r.read()
                if r.status == 200 and b"etl.daily" in body:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


PRELUDE = r"""
set -eo pipefail
__metrics() {
  curl -s "http://$READMECHECK_GATEWAY/metrics" | awk '
    /^airflow_prefect_gateway_http_requests_total\{/ {
      if ($0 ~ /status="5/) five += $NF
      if ($0 ~ /route="\(unmatched\)"/) unmatched += $NF
    }
    END { printf "5xx=%d unmatched=%d", five, unmatched }'
}
# curl as printed, with its answers' status lines noted: a 5xx from any gateway (make run's,
# or one a block starts) fails the block, whatever the block does with the body.
curl() {
  local hdrs rc=0
  hdrs="$(mktemp)"
  command curl -D "$hdrs" "$@" || rc=$?
  if grep -qE '^HTTP/[0-9.]+ 5[0-9][0-9]' "$hdrs"; then
    echo "::readme-check FAIL block $__BLOCK (README.md:$__LINE): $(grep -E '^HTTP/' "$hdrs" | tail -1 | tr -d '\r') from: curl $*" >&2
    rm -f "$hdrs"
    exit 3
  fi
  rm -f "$hdrs"
  return $rc
}
__begin() {
  __BLOCK="$1"; __LINE="$2"; __BASE="$(__metrics)"
  echo "::readme-check block $1 (README.md:$2)"
}
__end() {
  local now; now="$(__metrics)"
  if [ "$now" != "$__BASE" ]; then
    echo "::readme-check FAIL block $__BLOCK (README.md:$__LINE): the gateway's counts moved from $__BASE to $now" >&2
    exit 3
  fi
}
trap 'echo "::readme-check FAIL block $__BLOCK (README.md:$__LINE): exit $? of: $BASH_COMMAND" >&2' ERR
"""


def main():
    timeout = float(os.environ.get("READMECHECK_TIMEOUT", "900"))
    deadline = time.time() + timeout
    tmp = tempfile.mkdtemp(prefix="readme-check-")
    gw, prefect, second = free_port(), free_port(), free_port()
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)  # make run's own Prefect, on its own port
    env.update(PREFECT_PORT=str(prefect), GATEWAY_LISTEN="127.0.0.1:%d" % gw, GATEWAY_LOG_FORMAT="json")
    env["RUN_STATE_DIR"] = os.path.join(tmp, "run")  # not the .run of a make run of yours
    # Installed before make run starts: both build bin/airflow-prefect-gateway.
    subprocess.run(["make", "-s", "install", "PREFIX=" + os.path.join(tmp, "prefix")], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    run_log = open(os.path.join(tmp, "make-run.log"), "w")
    run = subprocess.Popen(["scripts/run.sh"], cwd=ROOT, env=env, stdout=run_log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        if not wait_for("http://127.0.0.1:%d/api/v1/dags" % gw, "admin:admin", min(deadline, time.time() + 600)):
            run_log.flush()
            with open(run_log.name) as f:
                print(f.read()[-3000:], file=sys.stderr)
            print("readme-check: make run did not come up", file=sys.stderr)
            return 1
        venv_python = os.path.join(ROOT, ".venv", "bin", "python")
        ports = {"127.0.0.1:8080": "127.0.0.1:%d" % gw, "127.0.0.1:4200": "127.0.0.1:%d" % prefect,
                 "127.0.0.1:8081": "127.0.0.1:%d" % second}
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        script = [PRELUDE]
        ran = skipped = 0
        for n, (line, lang, code, skip) in enumerate(blocks(readme), 1):
            if lang not in ("bash", "sh", "python"):
                continue
            if skip:
                print("readme-check: block %d (README.md:%d) not run: %s" % (n, line, skip))
                skipped += 1
                continue
            for old, new in ports.items():
                code = code.replace(old, new)
            script.append("__begin %d %d" % (n, line))
            if lang == "python":
                path = os.path.join(tmp, "block-%d.py" % n)
                with open(path, "w") as f:
                    f.write(code)
                script.append('"%s" "%s"' % (venv_python, path))
            else:
                script.append(code)
            script.append("__end")
            ran += 1
        script.append('echo "::readme-check done"')
        path = os.path.join(tmp, "readme.sh")
        with open(path, "w") as f:
            f.write("\n".join(script) + "\n")
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        benv = dict(os.environ)
        benv.pop("PREFECT_API_URL", None)
        benv.update(HOME=home, PATH=os.path.join(tmp, "prefix", "bin") + os.pathsep + os.environ["PATH"],
                    READMECHECK_GATEWAY="127.0.0.1:%d" % gw,
                    # What the default PREFECT_API_URL (127.0.0.1:4200) names when make run holds it.
                    PREFECT_API_URL="http://127.0.0.1:%d/api" % prefect)
        left = max(1.0, deadline - time.time())
        res = subprocess.run(["bash", path], cwd=ROOT, env=benv, timeout=left)
        if res.returncode != 0:
            print("readme-check: FAILED (script %s, make run's log %s)" % (path, run_log.name), file=sys.stderr)
            os.environ["READMECHECK_KEEP"] = "1"
            return 1
        print("readme-check: %d blocks ran as printed, %d marked as not runnable" % (ran, skipped))
        return 0
    finally:
        try:
            os.killpg(run.pid, 15)
            run.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(run.pid, 9)
        run_log.close()
        if os.environ.get("READMECHECK_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("readme-check: kept", tmp)


if __name__ == "__main__":
    sys.exit(main())
