"""Conformance suite: the official Airflow Python client (apache-airflow-client 2.10.0)
drives airflow-prefect-gateway, and Prefect's own HTTP API seeds and moves the data.

Environment:
    GATEWAY_URL       the gateway's root URL (http://127.0.0.1:8080) or its API root (.../api/v1)
    GATEWAY_USER      Basic-auth user; leave unset when the gateway runs with auth mode "none"
    GATEWAY_PASSWORD  its password
    PREFECT_API_URL   the Prefect server the gateway uses (http://127.0.0.1:4200/api)

Every test works on flows, deployments and runs it creates under a unique prefix, so the suite
can run against a Prefect server that holds other data. Tests fail, never skip, when something
is missing.
"""
import base64
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from importlib.metadata import version

import pytest

import airflow_client.client as airflow
from airflow_client.client.api import task_instance_api, dag_api, dag_run_api, monitoring_api

# The client version this suite pins and documents (requirements.txt).
CLIENT_VERSION = "2.10.0"


def pytest_configure(config):
    missing = [v for v in ("GATEWAY_URL", "PREFECT_API_URL") if not os.environ.get(v)]
    if missing:
        raise pytest.UsageError(
            "the conformance suite needs %s (see e2e/python/conftest.py)" % ", ".join(missing))
    if bool(os.environ.get("GATEWAY_USER")) != bool(os.environ.get("GATEWAY_PASSWORD")):
        raise pytest.UsageError("set both GATEWAY_USER and GATEWAY_PASSWORD, or neither")
    got = version("apache-airflow-client")
    if got != CLIENT_VERSION:
        raise pytest.UsageError(
            "apache-airflow-client %s is installed; this suite is pinned to %s" % (got, CLIENT_VERSION))


def api_root():
    url = os.environ["GATEWAY_URL"].rstrip("/")
    return url if url.endswith("/api/v1") else url + "/api/v1"


def credentials():
    user = os.environ.get("GATEWAY_USER") or None
    return (user, os.environ.get("GATEWAY_PASSWORD")) if user else None


def make_client(creds):
    cfg = airflow.Configuration(host=api_root())
    if creds:
        cfg.username, cfg.password = creds
    return airflow.ApiClient(cfg)


@pytest.fixture(scope="session")
def client():
    with make_client(credentials()) as c:
        yield c


@pytest.fixture(scope="session")
def dags(client):
    return dag_api.DAGApi(client)


@pytest.fixture(scope="session")
def runs(client):
    return dag_run_api.DAGRunApi(client)


@pytest.fixture(scope="session")
def monitoring(client):
    return monitoring_api.MonitoringApi(client)


@pytest.fixture(scope="session")
def task_instances(client):
    return task_instance_api.TaskInstanceApi(client)


class Raw:
    """Plain HTTP to the gateway, for what the client cannot send (unknown parameters) or
    does not model (meta routes)."""

    def __init__(self, creds):
        self.creds = creds

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(api_root() + path, method=method, data=body, headers=headers or {})
        if self.creds:
            token = base64.b64encode(("%s:%s" % self.creds).encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="session")
def raw():
    return Raw(credentials())


class Prefect:
    """The few Prefect 3 HTTP calls the suite seeds and moves data with (no worker needed)."""

    def __init__(self, url):
        self.url = url.rstrip("/")

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        """One Prefect call. A busy Prefect (SQLite under load answers 503/500) is retried for
        up to a minute: every call the suite makes is safe to repeat (flows and deployments
        are upserts by name, set_state is forced to the same state, the rest are reads)."""
        data = None if body is None else json.dumps(body).encode()
        deadline = time.monotonic() + 60
        delay = 0.2
        while True:
            req = urllib.request.Request(self.url + path, method=method, data=data,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    status, raw = resp.status, resp.read()
            except urllib.error.HTTPError as e:
                status, raw = e.code, e.read()
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                status, raw = None, str(e).encode()
            if (status is None or status in (500, 502, 503, 504)) and status not in ok \
                    and time.monotonic() + delay < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 5)
                continue
            break
        if status not in ok:
            raise AssertionError("Prefect %s %s: %s %s" % (method, path, status, raw[:500]))
        return status, (json.loads(raw) if raw else None)

    def flow(self, name):
        return self.call("POST", "/flows/", {"name": name})[1]["id"]

    def deployment(self, flow_id, name, tags=()):
        return self.call("POST", "/deployments/", {"name": name, "flow_id": flow_id, "tags": list(tags)})[1]["id"]

    def read_deployment(self, deployment_id):
        return self.call("GET", "/deployments/%s" % deployment_id)[1]

    def flow_run_named(self, deployment_id, name):
        runs = self.call("POST", "/flow_runs/filter", {
            "deployments": {"id": {"any_": [deployment_id]}},
            "flow_runs": {"name": {"any_": [name]}},
        })[1]
        assert len(runs) == 1, "want one flow run named %r in deployment %s, got %d" % (name, deployment_id, len(runs))
        return runs[0]

    def read_flow_run(self, flow_run_id, ok=(200,)):
        return self.call("GET", "/flow_runs/%s" % flow_run_id, ok=ok)

    def set_state(self, flow_run_id, state_type):
        status, body = self.call("POST", "/flow_runs/%s/set_state" % flow_run_id,
                                 {"state": {"type": state_type}, "force": True})
        assert body["status"] == "ACCEPT", body
        return body


@pytest.fixture(scope="session")
def prefect():
    return Prefect(os.environ["PREFECT_API_URL"])


class Seed:
    """DAGs (deployments) under a prefix unique to this run of the suite."""

    def __init__(self, prefect):
        self.prefect = prefect
        self.prefix = "conformance_%s" % uuid.uuid4().hex[:8]
        self.deployment_ids = {}

    def dag(self, flow, deployment, tags=()):
        """Creates flow <prefix>_<flow> with deployment <deployment>; returns the dag_id."""
        flow_name = "%s_%s" % (self.prefix, flow)
        fid = self.prefect.flow(flow_name)
        did = self.prefect.deployment(fid, deployment, tags)
        dag_id = "%s.%s" % (flow_name, deployment)
        self.deployment_ids[dag_id] = did
        return dag_id


@pytest.fixture(scope="session")
def seed(prefect):
    return Seed(prefect)


def wait_for(fn, what, timeout=30.0, interval=0.2):
    """Calls fn until it returns a true value; fails with what after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))
