"""TaskInstanceApi (and the XCom and DAG task-instance actions) on runs a real Prefect runner
executed: e2e/flows/flows.py, served by the harness' runner (or run.sh's)."""
import uuid

import pytest

from airflow_client.client.api import task_instance_api
from airflow_client.client.exceptions import ApiException
from airflow_client.client.model.dag_run import DAGRun
from airflow_client.client.model.list_task_instance_form import ListTaskInstanceForm
from airflow_client.client.model.task_instance import TaskInstance
from airflow_client.client.model.task_instance_collection import TaskInstanceCollection
from airflow_client.client.model.task_state import TaskState

from conftest import wait_for

PIPELINE, FAILING = "ti_pipeline.e2e", "ti_failing.e2e"


def state(x):
    """TaskState and DagState are models wrapping a string (TaskState is nullable)."""
    if x is None:
        return None
    return x.value


@pytest.fixture(scope="module")
def real_runs(runs):
    """One run of each runner DAG, triggered through the client and waited for."""
    ids = {PIPELINE: "py-pipeline-%s" % uuid.uuid4().hex[:8], FAILING: "py-failing-%s" % uuid.uuid4().hex[:8]}
    for dag_id, run_id in ids.items():
        runs.post_dag_run(dag_id, DAGRun(dag_run_id=run_id))
    tis = task_instance_api.TaskInstanceApi(runs.api_client)
    for dag_id, want, final in ((PIPELINE, "success", 6), (FAILING, "failed", 2)):
        wait_for(lambda: state(runs.get_dag_run(dag_id, ids[dag_id]).state) == want,
                 "%s to be %s" % (ids[dag_id], want), timeout=240, interval=1)
        # Prefect records task runs from their events, a moment after the flow run's state.
        wait_for(lambda: [ti for ti in tis.get_task_instances(dag_id, ids[dag_id]).task_instances
                          if state(ti.state) in ("success", "failed")][final - 1:],
                 "the task instances of %s to finish" % ids[dag_id], timeout=60, interval=0.5)
    return ids


def by_name(collection, name):
    return [ti for ti in collection.task_instances if ti.task_display_name == name]


def test_list_and_get(task_instances, real_runs):
    run_id = real_runs[PIPELINE]
    tis = task_instances.get_task_instances(PIPELINE, run_id)
    assert isinstance(tis, TaskInstanceCollection)
    assert tis.total_entries == 6
    assert [(ti.task_display_name, ti.map_index) for ti in tis.task_instances] == [
        ("extract", -1), ("square", 0), ("square", 1), ("square", 2), ("flaky", -1), ("report", -1)]
    assert all(state(ti.state) == "success" for ti in tis.task_instances)
    flaky = by_name(tis, "flaky")[0]
    one = task_instances.get_task_instance(PIPELINE, run_id, flaky.task_id)
    assert isinstance(one, TaskInstance)
    assert (one.try_number, one.max_tries, one.dag_run_id) == (2, 1, run_id)
    square = by_name(tis, "square")[0].task_id
    assert task_instances.get_mapped_task_instance(PIPELINE, run_id, square, 2).map_index == 2
    mapped = task_instances.get_mapped_task_instances(PIPELINE, run_id, square, order_by="-map_index", limit=2)
    assert [ti.map_index for ti in mapped.task_instances] == [2, 1] and mapped.total_entries == 3
    with pytest.raises(ApiException) as e:
        task_instances.get_task_instance(PIPELINE, run_id, square)
    assert e.value.status == 404 and "add the map_index" in e.value.body
    filtered = task_instances.get_task_instances(PIPELINE, "~", state=["success"], limit=100)
    assert any(ti.dag_run_id == run_id for ti in filtered.task_instances)


def test_batch(task_instances, real_runs):
    form = ListTaskInstanceForm(dag_ids=[FAILING, PIPELINE], dag_run_ids=list(real_runs.values()), state=[TaskState("failed")])
    failed = task_instances.get_task_instances_batch(form)
    assert [(ti.dag_id, ti.task_display_name, state(ti.state)) for ti in failed.task_instances] == [(FAILING, "explode", "failed")]


def test_tries(task_instances, real_runs):
    run_id = real_runs[PIPELINE]
    flaky = by_name(task_instances.get_task_instances(PIPELINE, run_id), "flaky")[0].task_id
    tries = task_instances.get_task_instance_tries(PIPELINE, run_id, flaky)
    assert [(t.try_number, state(t.state)) for t in tries.task_instances] == [(1, "failed"), (2, "success")]
    assert state(task_instances.get_task_instance_try_details(PIPELINE, run_id, flaky, 1).state) == "failed"
    square = by_name(task_instances.get_task_instances(PIPELINE, run_id), "square")[0].task_id
    assert task_instances.get_mapped_task_instance_tries(PIPELINE, run_id, square, 1).total_entries == 1
    assert task_instances.get_mapped_task_instance_try_details(PIPELINE, run_id, square, 1, 1).try_number == 1


def test_logs(task_instances, real_runs):
    run_id = real_runs[FAILING]
    explode = [ti for ti in task_instances.get_task_instances(FAILING, run_id).task_instances
               if ti.task_display_name == "explode"][0].task_id
    page = task_instances.get_log(FAILING, run_id, explode, 1)
    assert page.content.startswith("[('', ") and "ValueError: explode failed on 7" in page.content
    assert page.continuation_token
    after = task_instances.get_log(FAILING, run_id, explode, 1, token=page.continuation_token)
    assert after.content == "[('', '')]"
    full = task_instances.get_log(FAILING, run_id, explode, 1, full_content=True)
    assert "Traceback (most recent call last)" in full.content
    with pytest.raises(ApiException) as e:
        task_instances.get_log(FAILING, run_id, explode, 1, token="forged")
    assert e.value.status == 400 and "Bad Signature" in e.value.body
