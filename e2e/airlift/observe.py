"""Dagster Airlift against the gateway, unmodified: build_defs_from_airflow_instance with its
default options, then one evaluation of its polling sensor (the observe stage).

    GATEWAY_URL=... [GATEWAY_USER=admin GATEWAY_PASSWORD=admin] DAG_ID=... [RUN_ID=...] \
    [ASSET_URI=...] [SINCE=<unix seconds, default 0>] python observe.py

Fails (exit 1, with the reason) unless the definitions hold the DAG's asset with its source
code (and the dataset ASSET_URI, when given) and the sensor, looking back to SINCE, reports a
successful run of the DAG (run RUN_ID, when given)."""
import json
import os
import sys

from dagster import DagsterInstance, build_sensor_context
from dagster._serdes import serialize_value
from dagster_airlift.core import AirflowBasicAuthBackend, AirflowInstance, build_defs_from_airflow_instance
from dagster_airlift.core.load_defs import uri_to_asset_key
from dagster_airlift.core.serialization.defs_construction import make_default_dag_asset_key
from dagster_airlift.core.sensor.sensor_builder import AirflowPollingSensorCursor

env = os.environ
instance = AirflowInstance(
    auth_backend=AirflowBasicAuthBackend(webserver_url=env["GATEWAY_URL"], username=env.get("GATEWAY_USER", "admin"),
                                         password=env.get("GATEWAY_PASSWORD", "admin")),
    name="gateway",
)
dag_id, run_id, asset_uri = env["DAG_ID"], env.get("RUN_ID"), env.get("ASSET_URI")

defs = build_defs_from_airflow_instance(airflow_instance=instance)
repo = defs.get_repository_def()
specs = {spec.key: spec for assets_def in repo.asset_graph.assets_defs for spec in assets_def.specs}
problems = []
dag_key = make_default_dag_asset_key("gateway", dag_id)
if dag_key not in specs:
    problems.append("no asset for DAG %s among %s" % (dag_id, sorted(k.to_user_string() for k in specs)))
else:
    meta = specs[dag_key].metadata
    source = meta.get("Source Code")
    if source is None or "is Prefect deployment" not in str(getattr(source, "value", source)):
        problems.append("the DAG asset has no source code from /dagSources: %s" % sorted(meta))
if asset_uri and uri_to_asset_key(asset_uri) not in specs:
    problems.append("no asset for dataset %s among %s" % (asset_uri, sorted(k.to_user_string() for k in specs)))

sensor = repo.get_sensor_def("gateway__airflow_dag_status_sensor")
cursor = serialize_value(AirflowPollingSensorCursor(end_date_gte=float(env.get("SINCE", "0")), end_date_lte=None, dag_query_offset=0))
with DagsterInstance.ephemeral() as dagster_instance:
    context = build_sensor_context(instance=dagster_instance, repository_def=repo, cursor=cursor)
    result = sensor(context)
seen = []
for ev in result.asset_events or []:
    run = ev.metadata.get("Airflow Run ID")
    seen.append({"asset": ev.asset_key.to_user_string(), "run_id": getattr(run, "value", run)})
if not any(e["asset"] == dag_key.to_user_string() and (run_id is None or e["run_id"] == run_id) for e in seen):
    problems.append("the sensor did not report run %s of %s: %s" % (run_id or "(any)", dag_id, seen))

if asset_uri and not any(e["asset"] == uri_to_asset_key(asset_uri).to_user_string() for e in seen):
    problems.append("the sensor did not report the materialization of %s from its task instance: %s" % (asset_uri, seen))

print(json.dumps({"assets": sorted(k.to_user_string() for k in specs), "sensor_events": seen, "problems": problems}, indent=1))
sys.exit(1 if problems else 0)
