"""Airflow 3 client suite: the official Python client for /api/v2 (apache-airflow-client
3.3.2, pinned in requirements-v2-client.txt) drives airflow-prefect-gateway unmodified, with
a token from POST /auth/token; Prefect's own HTTP API seeds the data. The client's pydantic
models refuse an answer that misses a required field or has one of the wrong type: that is
the point of the suite.

Environment:
    GATEWAY_URL       the gateway's root URL (http://127.0.0.1:8080)
    GATEWAY_USER      a user of its users file (an Admin) and GATEWAY_PASSWORD
    PREFECT_API_URL   the Prefect server the gateway uses
    RUNNER_DAG        a DAG a Prefect runner executes (ti_pipeline.e2e under make test)

Tests fail, never skip, when something is missing.
"""
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from importlib.metadata import version

import pytest

import airflow_client.client as airflow

CLIENT_VERSION = "3.3.2"


def pytest_configure(config):
    missing = [v for v in ("GATEWAY_URL", "GATEWAY_USER", "GATEWAY_PASSWORD", "PREFECT_API_URL", "RUNNER_DAG")
               if not os.environ.get(v)]
    if missing:
        raise pytest.UsageError("the Airflow 3 client suite needs %s (see e2e/python_v2/conftest.py)" % ", ".join(missing))
    got = version("apache-airflow-client")
    if got != CLIENT_VERSION:
        raise pytest.UsageError("apache-airflow-client %s is installed; this suite is pinned to %s" % (got, CLIENT_VERSION))


def root():
    return os.environ["GATEWAY_URL"].rstrip("/")


def post_json(url, body, headers=None):
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def get_token(user, password, cli=False):
    """POST /auth/token, as the client's README shows it (201 {"access_token"})."""
    status, body = post_json(root() + ("/auth/token/cli" if cli else "/auth/token"), {"username": user, "password": password})
    assert status == 201, (status, body)
    return body["access_token"]


@pytest.fixture(scope="session")
def token():
    return get_token(os.environ["GATEWAY_USER"], os.environ["GATEWAY_PASSWORD"])


@pytest.fixture(scope="session")
def client(token):
    cfg = airflow.Configuration(host=root(), access_token=token)
    with airflow.ApiClient(cfg) as c:
        yield c


class Prefect:
    """The few Prefect 3 calls the suite seeds data with."""

    def __init__(self, url):
        self.url = url.rstrip("/")

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        deadline = time.monotonic() + 60
        while True:
            req = urllib.request.Request(self.url + path, method=method, data=data, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as e:
                if e.code < 500 or time.monotonic() > deadline:
                    raise AssertionError("Prefect %s %s: %s %s" % (method, path, e.code, e.read()[:300]))
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.5)

    def flow_run_named(self, deployment_id, name):
        return self.call("POST", "/flow_runs/filter", {"deployments": {"id": {"any_": [deployment_id]}},
                                                       "flow_runs": {"name": {"any_": [name]}}})[0]

    def set_state(self, flow_run_id, state_type):
        return self.call("POST", "/flow_runs/%s/set_state" % flow_run_id, {"state": {"type": state_type}, "force": True})


@pytest.fixture(scope="session")
def prefect():
    return Prefect(os.environ["PREFECT_API_URL"])


@pytest.fixture(scope="session")
def seeded(prefect):
    """Two DAGs under a prefix of this run: <prefix>_etl.daily (tags warehouse, cron) and
    <prefix>_ml.train."""
    prefix = "v2client_%s" % uuid.uuid4().hex[:8]
    dags = {}
    for flow, dep, extra in (("etl", "daily", {"tags": ["warehouse"], "schedules": [{"schedule": {"cron": "0 6 * * *", "timezone": "UTC"}, "active": True}]}),
                             ("ml", "train", {})):
        fid = prefect.call("POST", "/flows/", {"name": "%s_%s" % (prefix, flow)})["id"]
        did = prefect.call("POST", "/deployments/", {"name": dep, "flow_id": fid, **extra})["id"]
        dags["%s_%s.%s" % (prefix, flow, dep)] = did
    return prefix, dags


def wait_for(fn, what, timeout=60.0, interval=0.3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))
