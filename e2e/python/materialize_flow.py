"""Runs one flow run of a deployment in this process, with a @materialize task, so that the
real Prefect server receives real asset events (a materialization of ASSET by task
write_orders, which also references RAW).

    python materialize_flow.py FLOW_NAME DEPLOYMENT_ID RUN_NAME ASSET RAW

PREFECT_API_URL names the server. Prints the flow run's id."""
import sys

from prefect import flow
from prefect.assets import Asset, AssetProperties, materialize
from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow

flow_name, deployment_id, run_name, asset_key, raw_key = sys.argv[1:6]
orders = Asset(key=asset_key, properties=AssetProperties(name="orders", description="Daily orders"))


@materialize(orders, asset_deps=[raw_key])
def write_orders():
    return 42


@flow(name=flow_name)
def etl():
    write_orders()


with get_client(sync_client=True) as client:
    flow_run = client.create_flow_run_from_deployment(deployment_id, name=run_name)
run_flow(etl, flow_run=flow_run)
print(flow_run.id)
