"""The demo flow of `make run`: extract -> transform -> load, served by a real Prefect runner.

`python scripts/demo/etl.py` creates (or updates) deployment `daily` of flow `etl` (dag_id
`etl.daily` through the gateway) and executes its runs as they come: triggered through the
gateway, from Prefect's UI, or by Prefect's scheduler (cron 0 6 * * *). Each task logs and
returns a value; results are persisted as JSON, so the gateway can show them as XComs.
"""
import os

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.assets import Asset, AssetProperties, materialize

# The table `load` writes: a Prefect asset, which the gateway shows as an Airflow dataset
# (produced by etl.daily's load task, read from the shop's orders).
DAILY_ORDERS = Asset(key="s3://warehouse/daily_orders", properties=AssetProperties(
    name="daily_orders", description="Yesterday's orders, loaded by etl.daily", owners=["data-team"]))


@task(persist_result=True, result_serializer="json")
def extract(batch_size: int) -> list:
    log = get_run_logger()
    orders = [{"order_id": i, "amount": round(10 + i * 1.5, 2)} for i in range(batch_size)]
    log.info("extracted %d orders from the shop database", len(orders))
    return orders


@task(persist_result=True, result_serializer="json")
def transform(orders: list) -> dict:
    log = get_run_logger()
    summary = {"orders": len(orders), "revenue": round(sum(o["amount"] for o in orders), 2)}
    log.info("summarised %d orders: revenue %.2f", summary["orders"], summary["revenue"])
    return summary


@materialize(DAILY_ORDERS, asset_deps=["postgres://shop/orders"], persist_result=True, result_serializer="json")
def load(summary: dict, output_dir: str) -> str:
    log = get_run_logger()
    table = "warehouse.daily_orders"
    log.info("loaded %s into %s (output dir %s)", summary, table, output_dir)
    create_markdown_artifact(key="load-report", markdown=f"Loaded **{summary['orders']}** orders into `{table}`.")
    return table


@flow(name="etl")
def etl(batch_size: int = 500, output_dir: str = "/tmp/results") -> str:
    orders = extract(batch_size)
    summary = transform(orders)
    return load(summary, output_dir)


if __name__ == "__main__":
    etl.serve(
        name="daily",
        cron="0 6 * * *",
        tags=["demo", "warehouse", "owner:data-team"],
        description="Demo: loads yesterday's orders into the warehouse.",
        parameters={"batch_size": 500},
        limit=int(os.environ.get("DEMO_RUNNER_LIMIT", "4")),
    )
