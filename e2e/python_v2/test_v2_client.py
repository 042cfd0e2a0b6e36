"""The official Airflow 3 client over every /api/v2 route the gateway serves."""
import json
import os
import time
import uuid

import pytest

import airflow_client.client as airflow
from airflow_client.client.api import dag_api, dag_run_api, monitor_api, task_api, task_instance_api, version_api
from airflow_client.client.models import DAGPatchBody, DAGRunClearBody, DAGRunPatchBody, DAGRunsBatchBody, \
    TaskInstancesBatchBody, TriggerDAGRunPostBody
from airflow_client.client.rest import ApiException

from conftest import get_token, root, wait_for


def test_version_and_health(client):
    v = version_api.VersionApi(client).get_version()
    assert v.version.startswith("3.")
    h = monitor_api.MonitorApi(client).get_health()
    assert h.metadatabase.status in ("healthy", "unhealthy")


def test_cli_token_works(client):
    tok = get_token(os.environ["GATEWAY_USER"], os.environ["GATEWAY_PASSWORD"], cli=True)
    cfg = airflow.Configuration(host=root(), access_token=tok)
    with airflow.ApiClient(cfg) as c:
        assert version_api.VersionApi(c).get_version().version


def test_no_token_is_401():
    with airflow.ApiClient(airflow.Configuration(host=root())) as c:
        with pytest.raises(ApiException) as e:
            dag_api.DAGApi(c).get_dags()
    assert e.value.status == 401
    assert json.loads(e.value.body) == {"detail": "Not authenticated"}


def test_dags(client, seeded):
    prefix, dags = seeded
    api = dag_api.DAGApi(client)
    page = api.get_dags(dag_id_pattern=prefix, order_by=["-dag_id"], limit=10)
    assert [d.dag_id for d in page.dags] == sorted(dags, reverse=True)
    assert page.total_entries == 2
    daily = prefix + "_etl.daily"
    assert [d.dag_id for d in api.get_dags(dag_id_pattern=prefix, tags=["warehouse"]).dags] == [daily]
    dag = api.get_dag(daily)
    assert dag.timetable_summary == "0 6 * * *" and dag.is_stale is False and dag.tags[0].name == "warehouse"
    details = api.get_dag_details(daily)
    assert details.latest_dag_version.version_number == 1
    assert api.patch_dag(daily, DAGPatchBody(is_paused=True)).is_paused is True
    assert api.patch_dag(daily, DAGPatchBody(is_paused=False)).is_paused is False
    bulk = api.patch_dags(DAGPatchBody(is_paused=True), dag_id_pattern=prefix)
    assert bulk.total_entries == 2 and all(d.is_paused for d in bulk.dags)
    api.patch_dags(DAGPatchBody(is_paused=False), dag_id_pattern=prefix)
    tasks = task_api.TaskApi(client).get_tasks(daily)
    assert tasks.total_entries == 0
    with pytest.raises(ApiException) as e:
        api.get_dag(prefix + "_nope.x")
    assert e.value.status == 404


def test_runs_lifecycle(client, seeded, prefect):
    prefix, dags = seeded
    daily = prefix + "_etl.daily"
    runs = dag_run_api.DagRunApi(client)
    run = runs.trigger_dag_run(daily, TriggerDAGRunPostBody(logical_date=None, conf={"batch": 3}, note="from the client"))
    assert run.logical_date is None and run.run_after and run.state.value == "queued"
    assert run.triggered_by.value == "rest_api" and run.conf == {"batch": 3} and run.note == "from the client"
    pinned = runs.trigger_dag_run(daily, TriggerDAGRunPostBody(dag_run_id="pinned-" + uuid.uuid4().hex[:6],
                                                               logical_date="2024-05-01T00:00:00Z"))
    assert pinned.logical_date.isoformat().startswith("2024-05-01T00:00:00")
    with pytest.raises(ApiException) as e:
        runs.trigger_dag_run(daily, TriggerDAGRunPostBody(dag_run_id=pinned.dag_run_id, logical_date=None))
    assert e.value.status == 409

    got = runs.get_dag_run(daily, run.dag_run_id)
    assert got.dag_run_id == run.dag_run_id and len(got.dag_versions) == 1
    page = runs.get_dag_runs(daily, order_by=["-run_after"], limit=10)
    assert page.total_entries == 2 and {r.dag_run_id for r in page.dag_runs} == {run.dag_run_id, pinned.dag_run_id}
    batch = runs.get_list_dag_runs_batch("~", DAGRunsBatchBody(dag_ids=[daily], page_limit=1))
    assert batch.total_entries == 2 and len(batch.dag_runs) == 1

    flow_run = prefect.flow_run_named(dags[daily], run.dag_run_id)
    prefect.set_state(flow_run["id"], "COMPLETED")
    assert runs.get_dag_run(daily, run.dag_run_id).state.value == "success"
    patched = runs.patch_dag_run(daily, run.dag_run_id, DAGRunPatchBody(note="looked at"))
    assert patched.note == "looked at"
    dry = runs.clear_dag_run(daily, run.dag_run_id, DAGRunClearBody(dry_run=True))
    assert dry.actual_instance.total_entries == 0
    cleared = runs.clear_dag_run(daily, run.dag_run_id, DAGRunClearBody(dry_run=False))
    assert cleared.actual_instance.state.value == "queued"
    failed = runs.patch_dag_run(daily, pinned.dag_run_id, DAGRunPatchBody(state="failed"))
    assert failed.state.value == "failed"
    runs.delete_dag_run(daily, pinned.dag_run_id)
    with pytest.raises(ApiException) as e:
        runs.get_dag_run(daily, pinned.dag_run_id)
    assert e.value.status == 404


def test_trigger_wait_task_instances_and_logs(client):
    dag_id = os.environ["RUNNER_DAG"]
    runs = dag_run_api.DagRunApi(client)
    run = runs.trigger_dag_run(dag_id, TriggerDAGRunPostBody(dag_run_id="v2c-" + uuid.uuid4().hex[:8], logical_date=None))
    # wait streams NDJSON; the client hands back the body it read to the end.
    body = runs.wait_dag_run_until_finished_without_preload_content(dag_id, run.dag_run_id, interval=1).read()
    lines = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
    assert lines and lines[-1]["state"] == "success", lines
    tis_api = task_instance_api.TaskInstanceApi(client)

    def finished():
        page = tis_api.get_task_instances(dag_id, run.dag_run_id)
        return page if sum(1 for t in page.task_instances if t.state and t.state.value == "success") >= 6 else None

    page = wait_for(finished, "the run's task instances")
    ti = next(t for t in page.task_instances if t.map_index == -1 and t.try_number >= 1)
    assert len(str(ti.id)) == 36 and ti.dag_version.version_number == 1 and ti.run_after
    one = tis_api.get_task_instance(dag_id, run.dag_run_id, ti.task_id)
    assert one.id == ti.id
    tries = tis_api.get_task_instance_tries(dag_id, run.dag_run_id, ti.task_id)
    assert tries.total_entries >= 1
    batch = tis_api.get_task_instances_batch("~", "~", TaskInstancesBatchBody(dag_ids=[dag_id], dag_run_ids=[run.dag_run_id]))
    assert batch.total_entries == page.total_entries
    mapped = [t for t in page.task_instances if t.map_index >= 0]
    if mapped:
        listed = tis_api.get_mapped_task_instances(dag_id, run.dag_run_id, mapped[0].task_id)
        assert listed.total_entries >= 1
        tis_api.get_mapped_task_instance(dag_id, run.dag_run_id, mapped[0].task_id, mapped[0].map_index)
    log = tis_api.get_log(dag_id, run.dag_run_id, ti.task_id, ti.try_number, accept="application/json")
    assert log.content is not None
    any_runs = runs.get_dag_runs("~", dag_id_pattern=dag_id, limit=5)
    assert any_runs.total_entries >= 1
