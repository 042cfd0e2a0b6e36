"""What the gateway adds around the Airflow API: its spec, strict validation and
authentication (the 501 answers of operations not implemented yet are checked in Go, by
gateway/spec_drift_test.go, for every such operation)."""
import json

import pytest

from airflow_client.client.api import dag_api
from airflow_client.client.exceptions import ApiException

from conftest import credentials, make_client


def test_spec_is_served(raw):
    status, headers, body = raw.request("GET", "/openapi.json")
    assert status == 200
    doc = json.loads(body)
    assert doc["openapi"] == "3.0.3" and doc["servers"] == [{"url": "/api/v1", "description": doc["servers"][0]["description"]}]
    ids = {op["operationId"] for item in doc["paths"].values() for m, op in item.items() if isinstance(op, dict) and "operationId" in op}
    assert {"get_dags", "post_dag_run", "get_dag_runs_batch", "clear_dag_run", "get_health"} <= ids
    status, headers, body = raw.request("GET", "/openapi.yaml")
    assert status == 200 and body.startswith(b"#") and b"openapi: 3.0.3" in body
    status, headers, body = raw.request("GET", "/ui")
    assert status == 200 and b"swagger-ui" in body


def test_unknown_query_parameter_is_rejected_as_airflow_does(raw):
    status, headers, body = raw.request("GET", "/dags?limit=1&bogus=1")
    assert status == 400
    assert headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(body)["detail"] == "Extra query parameter(s) bogus not in spec"


def test_wrong_types_are_rejected(raw):
    status, _, body = raw.request("GET", "/dags?limit=many")
    assert status == 400 and "limit" in json.loads(body)["detail"]
    status, _, body = raw.request("PATCH", "/dags/x.y/dagRuns/z", b'{"state": "running"}',
                                  {"Content-Type": "application/json"})
    assert status == 400 and "state" in json.loads(body)["detail"]


@pytest.mark.auth
def test_authentication():
    creds = credentials()
    with make_client(None) as anonymous:
        api = dag_api.DAGApi(anonymous)
        if creds is None:
            # Auth mode "none": everyone may call.
            assert api.get_dags(limit=1).total_entries >= 0
            return
        with pytest.raises(ApiException) as e:
            api.get_dags(limit=1)
        assert e.value.status == 401
        assert e.value.headers["WWW-Authenticate"].startswith("Basic")
    with make_client((creds[0], creds[1] + "-wrong")) as wrong:
        with pytest.raises(ApiException) as e:
            dag_api.DAGApi(wrong).get_dags(limit=1)
        assert e.value.status == 401
