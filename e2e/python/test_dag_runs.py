"""DAGRunApi: trigger with conf, poll, list with filters, batch, patch state, note, clear, delete."""
from datetime import datetime, timezone

import pytest

from airflow_client.client.exceptions import ApiException
from airflow_client.client.model.clear_dag_run import ClearDagRun
from airflow_client.client.model.dag_run import DAGRun
from airflow_client.client.model.dag_run_collection import DAGRunCollection
from airflow_client.client.model.list_dag_runs_form import ListDagRunsForm
from airflow_client.client.model.set_dag_run_note import SetDagRunNote
from airflow_client.client.model.update_dag_run_state import UpdateDagRunState

from conftest import wait_for


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def state(run):
    """DagState is a model wrapping a string; answers of clear_dag_run are plain dicts."""
    if isinstance(run, dict):
        return run["state"]
    return run.state.value


def prefect_state(prefect, seed, dag_id, run_id):
    return prefect.flow_run_named(seed.deployment_ids[dag_id], run_id)["state"]["type"]


def test_trigger_with_conf_and_poll(runs, seed, prefect):
    dag_id = seed.dag("trigger", "main")
    run = runs.post_dag_run(dag_id, DAGRun(dag_run_id="run-1", conf={"rows": 3, "mode": "full"}, note="first"))
    assert isinstance(run, DAGRun)
    assert (run.dag_id, run.dag_run_id) == (dag_id, "run-1")
    assert state(run) == "queued"
    assert run.conf == {"rows": 3, "mode": "full"}
    assert run.note == "first"
    assert run.run_type == "manual" and run.external_trigger is True
    assert run.logical_date is not None and run.logical_date.tzinfo is not None

    flow_run = prefect.flow_run_named(seed.deployment_ids[dag_id], "run-1")
    assert flow_run["parameters"] == {"rows": 3, "mode": "full"}

    prefect.set_state(flow_run["id"], "RUNNING")
    wait_for(lambda: state(runs.get_dag_run(dag_id, "run-1")) == "running", "the run to be running")
    prefect.set_state(flow_run["id"], "COMPLETED")
    done = wait_for(lambda: (lambda r: r if state(r) == "success" else None)(runs.get_dag_run(dag_id, "run-1")),
                    "the run to succeed")
    assert done.start_date is not None and done.end_date is not None
    assert done.end_date >= done.start_date


def test_trigger_generates_manual_run_id(runs, seed):
    dag_id = seed.dag("trigger", "generated")
    run = runs.post_dag_run(dag_id, DAGRun(logical_date=utc(2024, 5, 1)))
    assert run.dag_run_id == "manual__2024-05-01T00:00:00+00:00"
    assert run.logical_date == utc(2024, 5, 1)
    assert run.conf == {}
    again = runs.get_dag_run(dag_id, run.dag_run_id)
    assert again.dag_run_id == run.dag_run_id


def test_trigger_conflicts(runs, seed):
    dag_id = seed.dag("trigger", "conflict")
    runs.post_dag_run(dag_id, DAGRun(dag_run_id="dup", logical_date=utc(2024, 1, 1)))
    with pytest.raises(ApiException) as e:
        runs.post_dag_run(dag_id, DAGRun(dag_run_id="dup"))
    assert e.value.status == 409
    with pytest.raises(ApiException) as e:
        runs.post_dag_run(seed.prefix + "_missing.dag", DAGRun(dag_run_id="x"))
    assert e.value.status == 404


@pytest.fixture(scope="module")
def three_runs(runs, seed, prefect):
    """One DAG with runs on three logical dates: success, failed, queued."""
    dag_id = seed.dag("filters", "main")
    states = {"r1": "COMPLETED", "r2": "FAILED", "r3": None}
    for day, run_id in enumerate(sorted(states), start=1):
        runs.post_dag_run(dag_id, DAGRun(dag_run_id=run_id, logical_date=utc(2024, 1, day)))
    for run_id, state_type in states.items():
        if state_type:
            prefect.set_state(prefect.flow_run_named(seed.deployment_ids[dag_id], run_id)["id"], state_type)
    return dag_id


def ids(collection):
    assert isinstance(collection, DAGRunCollection)
    return [r.dag_run_id for r in collection.dag_runs]


def test_list_runs_with_filters(runs, three_runs):
    dag_id = three_runs
    everything = runs.get_dag_runs(dag_id)
    assert everything.total_entries == 3 and sorted(ids(everything)) == ["r1", "r2", "r3"]
    assert {r.dag_run_id: state(r) for r in everything.dag_runs} == {"r1": "success", "r2": "failed", "r3": "queued"}

    assert ids(runs.get_dag_runs(dag_id, order_by="execution_date")) == ["r1", "r2", "r3"]
    assert ids(runs.get_dag_runs(dag_id, order_by="-execution_date")) == ["r3", "r2", "r1"]

    page = runs.get_dag_runs(dag_id, order_by="execution_date", limit=1, offset=1)
    assert ids(page) == ["r2"] and page.total_entries == 3

    assert ids(runs.get_dag_runs(dag_id, state=["success"])) == ["r1"]
    assert sorted(ids(runs.get_dag_runs(dag_id, state=["failed", "queued"]))) == ["r2", "r3"]

    after = runs.get_dag_runs(dag_id, execution_date_gte=utc(2024, 1, 2))
    assert sorted(ids(after)) == ["r2", "r3"] and after.total_entries == 2
    before = runs.get_dag_runs(dag_id, execution_date_lte=utc(2024, 1, 2))
    assert sorted(ids(before)) == ["r1", "r2"]

    unknown = runs.get_dag_runs(dag_id + "_unknown")
    assert unknown.total_entries == 0 and unknown.dag_runs == []


def test_list_runs_of_every_dag(runs, three_runs):
    mine, offset, total = [], 0, None
    while total is None or offset < total:
        page = runs.get_dag_runs("~", execution_date_gte=utc(2024, 1, 1), execution_date_lte=utc(2024, 1, 3),
                                 limit=100, offset=offset)
        assert total is None or page.total_entries == total, "total_entries changed between pages"
        total = page.total_entries
        assert page.dag_runs, "empty page at offset %d of %d" % (offset, total)
        mine += [r.dag_run_id for r in page.dag_runs if r.dag_id == three_runs]
        offset += len(page.dag_runs)
    assert sorted(mine) == ["r1", "r2", "r3"]


def test_batch_list(runs, seed, three_runs):
    other = seed.dag("filters", "other")
    runs.post_dag_run(other, DAGRun(dag_run_id="o1", logical_date=utc(2024, 2, 1)))
    queued = runs.get_dag_runs_batch(ListDagRunsForm(dag_ids=[three_runs, other], states=["queued"],
                                                     order_by="execution_date"))
    assert [(r.dag_id, r.dag_run_id) for r in queued.dag_runs] == [(three_runs, "r3"), (other, "o1")]
    assert queued.total_entries == 2
    paged = runs.get_dag_runs_batch(ListDagRunsForm(dag_ids=[three_runs, other], order_by="execution_date",
                                                    page_limit=2, page_offset=2))
    assert [(r.dag_id, r.dag_run_id) for r in paged.dag_runs] == [(three_runs, "r3"), (other, "o1")]
    assert paged.total_entries == 4
    dated = runs.get_dag_runs_batch(ListDagRunsForm(dag_ids=[three_runs, other],
                                                    execution_date_gte=utc(2024, 1, 2), execution_date_lte=utc(2024, 1, 31)))
    assert sorted(r.dag_run_id for r in dated.dag_runs) == ["r2", "r3"]


def test_patch_state(runs, seed, prefect):
    dag_id = seed.dag("patch", "main")
    runs.post_dag_run(dag_id, DAGRun(dag_run_id="p1"))
    run = runs.update_dag_run_state(dag_id, "p1", UpdateDagRunState(state="success"))
    assert isinstance(run, DAGRun) and state(run) == "success"
    assert prefect_state(prefect, seed, dag_id, "p1") == "COMPLETED"
    run = runs.update_dag_run_state(dag_id, "p1", UpdateDagRunState(state="failed"))
    assert state(run) == "failed"
    assert prefect_state(prefect, seed, dag_id, "p1") == "FAILED"
    run = runs.update_dag_run_state(dag_id, "p1", UpdateDagRunState(state="queued"))
    assert state(run) == "queued"
    assert prefect_state(prefect, seed, dag_id, "p1") == "SCHEDULED"
    assert state(runs.get_dag_run(dag_id, "p1")) == "queued"


def test_set_note(runs, seed):
    dag_id = seed.dag("note", "main")
    runs.post_dag_run(dag_id, DAGRun(dag_run_id="n1"))
    run = runs.set_dag_run_note(dag_id, "n1", SetDagRunNote(note="checked by the conformance suite"))
    assert isinstance(run, DAGRun) and run.note == "checked by the conformance suite"
    assert runs.get_dag_run(dag_id, "n1").note == "checked by the conformance suite"
    assert runs.set_dag_run_note(dag_id, "n1", SetDagRunNote(note="")).note in ("", None)


def test_clear(runs, seed, prefect):
    dag_id = seed.dag("clear", "main")
    runs.post_dag_run(dag_id, DAGRun(dag_run_id="c1"))
    prefect.set_state(prefect.flow_run_named(seed.deployment_ids[dag_id], "c1")["id"], "FAILED")

    # dry_run defaults to true: nothing changes, the answer lists task instances.
    for body in (ClearDagRun(), ClearDagRun(dry_run=True)):
        dry = runs.clear_dag_run(dag_id, "c1", body)
        assert isinstance(dry, dict) and isinstance(dry["task_instances"], list), dry
        for ti in dry["task_instances"]:
            assert ti["dag_id"] == dag_id and ti["dag_run_id"] == "c1"
    assert state(runs.get_dag_run(dag_id, "c1")) == "failed"

    cleared = runs.clear_dag_run(dag_id, "c1", ClearDagRun(dry_run=False))
    assert isinstance(cleared, dict) and cleared["dag_run_id"] == "c1" and cleared["dag_id"] == dag_id, cleared
    assert state(cleared) == "queued"
    assert state(runs.get_dag_run(dag_id, "c1")) == "queued"


def test_delete(runs, seed, prefect):
    dag_id = seed.dag("delete", "main")
    runs.post_dag_run(dag_id, DAGRun(dag_run_id="d1"))
    flow_run_id = prefect.flow_run_named(seed.deployment_ids[dag_id], "d1")["id"]
    assert runs.delete_dag_run(dag_id, "d1") is None
    with pytest.raises(ApiException) as e:
        runs.get_dag_run(dag_id, "d1")
    assert e.value.status == 404
    assert prefect.read_flow_run(flow_run_id, ok=(404,))[0] == 404
    with pytest.raises(ApiException) as e:
        runs.delete_dag_run(dag_id, "d1")
    assert e.value.status == 404


def test_run_reachable_by_flow_run_id(runs, seed, prefect):
    dag_id = seed.dag("byid", "main")
    runs.post_dag_run(dag_id, DAGRun(dag_run_id="u1"))
    flow_run_id = prefect.flow_run_named(seed.deployment_ids[dag_id], "u1")["id"]
    assert runs.get_dag_run(dag_id, flow_run_id).dag_run_id == "u1"
