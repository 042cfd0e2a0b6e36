"""The overview calls dashboards and agents open with, through the official client's own API
classes: DAG stats, import errors, DAG warnings, a DAG's source, re-parse, DELETE /dags."""
import pytest

from airflow_client.client.api import dag_api, dag_stats_api, dag_warning_api, import_error_api
from airflow_client.client.exceptions import ApiException
from airflow_client.client.model.dag_run import DAGRun


@pytest.fixture(scope="module")
def stats_dag(seed):
    return seed.dag("overview", "stats")


def test_dag_stats(client, runs, prefect, seed, stats_dag):
    runs.post_dag_run(stats_dag, DAGRun(dag_run_id="s0"))
    run = runs.post_dag_run(stats_dag, DAGRun(dag_run_id="s1"))
    flow_run = prefect.flow_run_named(seed.deployment_ids[stats_dag], run.dag_run_id)
    prefect.set_state(flow_run["id"], "COMPLETED")
    got = dag_stats_api.DagStatsApi(client).get_dag_stats(dag_ids=stats_dag + ",no.such_dag")
    assert got.total_entries == 1
    assert got.dags[0].dag_id == stats_dag
    assert [(s.state, s.count) for s in got.dags[0].stats] == [("queued", 1), ("running", 0), ("success", 1), ("failed", 0)]


def test_import_errors_and_warnings_are_empty(client):
    errors = import_error_api.ImportErrorApi(client)
    page = errors.get_import_errors(limit=10, order_by="-timestamp")
    assert page.import_errors == [] and page.total_entries == 0
    with pytest.raises(ApiException) as e:
        errors.get_import_error(1)
    assert e.value.status == 404
    warnings = dag_warning_api.DagWarningApi(client).get_dag_warnings(_check_return_type=False)
    assert warnings.total_entries == 0


def test_dag_source_and_reparse(client, seed):
    dag_id = seed.dag("overview", "source")
    api = dag_api.DAGApi(client)
    token = api.get_dag_details(dag_id).file_token
    source = api.get_dag_source(token)
    assert "is Prefect deployment" in source.content and "entrypoint:" in source.content
    api.reparse_dag_file(token)
    with pytest.raises(ApiException) as e:
        api.get_dag_source("00000000-0000-4000-8000-000000000000")
    assert e.value.status == 404


def test_delete_dag_deletes_its_runs_and_keeps_the_dag(client, runs, seed):
    dag_id = seed.dag("overview", "deleted")
    runs.post_dag_run(dag_id, DAGRun(dag_run_id="d0"))
    api = dag_api.DAGApi(client)
    api.delete_dag(dag_id)
    assert runs.get_dag_runs(dag_id).total_entries == 0
    assert api.get_dag(dag_id).dag_id == dag_id
    with pytest.raises(ApiException) as e:
        api.delete_dag("no.such_dag")
    assert e.value.status == 404


def test_event_logs(client, runs, prefect, seed):
    from airflow_client.client.api import event_log_api
    dag_id = seed.dag("overview", "events")
    run = runs.post_dag_run(dag_id, DAGRun(dag_run_id="e0"))
    prefect.set_state(prefect.flow_run_named(seed.deployment_ids[dag_id], run.dag_run_id)["id"], "COMPLETED")
    api = event_log_api.EventLogApi(client)
    from conftest import wait_for
    page = wait_for(lambda: (lambda p: p if p.total_entries >= 2 else None)(api.get_event_logs(dag_id=dag_id, run_id="e0")),
                    "the run's state events", timeout=60)
    assert {e.event for e in page.event_logs} >= {"prefect.flow-run.Completed"}
    assert all(e.dag_id == dag_id and e.run_id == "e0" for e in page.event_logs)
    one = api.get_event_log(page.event_logs[0].event_log_id)
    assert one.event == page.event_logs[0].event
    with pytest.raises(ApiException) as e:
        api.get_event_logs(order_by="owner")
    assert e.value.status == 400


def test_datasets(client, seed, prefect):
    """A real @materialize flow run, then every dataset call the client has."""
    import os
    import subprocess
    import sys

    from airflow_client.client.api import dataset_api
    from airflow_client.client.model.create_dataset_event import CreateDatasetEvent
    from conftest import wait_for

    dag_id = seed.dag("assets", "daily")
    flow_name = dag_id.rsplit(".", 1)[0]
    asset, raw = "s3://conformance/%s/orders" % seed.prefix, "s3://conformance/%s/raw" % seed.prefix
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "materialize_flow.py"), flow_name,
                    seed.deployment_ids[dag_id], "m1", asset, raw], check=True, capture_output=True)
    api = dataset_api.DatasetApi(client)

    def materialized():
        try:
            d = api.get_dataset(asset)
        except ApiException as e:
            if e.status == 404:  # Prefect persists events in batches: not there yet
                return None
            raise
        return d if d.producing_tasks else None

    ds = wait_for(materialized, "the materialization", timeout=60)
    assert ds.uri == asset and ds.producing_tasks[0].dag_id == dag_id
    assert ds.producing_tasks[0].task_id.startswith("write_orders")
    page = api.get_datasets(uri_pattern=seed.prefix, order_by="uri")
    assert [d.uri for d in page.datasets] == sorted([asset, raw]) and page.total_entries == 2
    events = api.get_dataset_events(dataset_id=ds.id)
    assert events.total_entries == 1 and events.dataset_events[0].source_dag_id == dag_id
    created = api.create_dataset_event(CreateDatasetEvent(dataset_uri=asset, extra={"by": "client"}))
    assert created.dataset_uri == asset and created.extra["from_rest_api"] is True
    upstream = dag_api_upstream(client, dag_id)
    assert upstream.total_entries == 0


def dag_api_upstream(client, dag_id):
    from airflow_client.client.api import dataset_api
    return dataset_api.DatasetApi(client).get_upstream_dataset_events(dag_id, "m1")
