"""VariableApi as the Terraform Airflow provider uses it: create, read back, update (with and
without update_mask), delete, read -> 404; listings and Airflow's errors."""
import json
import uuid

import pytest

from airflow_client.client.api import variable_api
from airflow_client.client.exceptions import ApiException, NotFoundException
from airflow_client.client.model.variable import Variable
from airflow_client.client.model.variable_collection import VariableCollection


@pytest.fixture(scope="module")
def variables(client):
    return variable_api.VariableApi(client)


def test_variable_life_cycle(variables):
    key = "Conformance.Var_%s" % uuid.uuid4().hex[:8]  # outside Prefect's alphabet
    created = variables.post_variables(Variable(key=key, value='{"x": 1}', description="made by the suite"))
    assert created.key == key and created.value == '{"x": 1}' and created.description == "made by the suite"
    got = variables.get_variable(key)
    assert (got.key, got.value, got.description) == (key, '{"x": 1}', "made by the suite")

    # Terraform's update: the whole object, no mask.
    updated = variables.patch_variable(key, Variable(key=key, value="v2", description=""))
    assert (updated.value, updated.description) == ("v2", "")
    # update_mask names the stored attributes, as Airflow 2.10 does.
    updated = variables.patch_variable(key, Variable(key=key, value="ignored", description="masked"),
                                       update_mask=["description"])
    assert (updated.value, updated.description) == ("v2", "masked")
    updated = variables.patch_variable(key, Variable(key=key, value="v3"), update_mask=["val"])
    assert (updated.value, updated.description) == ("v3", "masked")
    with pytest.raises(ApiException) as e:
        variables.patch_variable(key, Variable(key=key, value="v4"), update_mask=["value"])
    assert e.value.status == 400
    assert json.loads(e.value.body)["detail"] == "'value' is unknown or cannot be updated."

    page = variables.get_variables(limit=100, order_by="-id")
    assert isinstance(page, VariableCollection) and page.total_entries >= 1
    assert key in {v.key for v in page.variables}

    variables.delete_variable(key)
    with pytest.raises(NotFoundException) as e:
        variables.get_variable(key)
    problem = json.loads(e.value.body)
    assert problem["title"] == "Variable not found" and problem["detail"] == "Variable does not exist"


def test_secret_values_are_masked_in_listings(variables):
    key = "conformance_api_key_%s" % uuid.uuid4().hex[:8]
    variables.post_variables(Variable(key=key, value="s3cr3t"))
    try:
        listed = {v.key: v.value for v in variables.get_variables(limit=100, order_by="-id").variables}
        assert listed[key] == "***"
        assert variables.get_variable(key).value == "s3cr3t"
    finally:
        variables.delete_variable(key)


def test_bad_bodies_are_airflow_400s(raw):
    status, _, body = raw.request("POST", "/variables", b'{"key": "conformance_nothing"}',
                                  {"Content-Type": "application/json"})
    assert status == 400
    problem = json.loads(body)
    assert problem["title"] == "Invalid Variable schema"
    assert problem["detail"] == "{'value': ['Missing data for field.']}"
    status, _, _ = raw.request("GET", "/variables/conformance_nothing")
    assert status == 404
