"""Flows the end-to-end tests run for real, served by a Prefect runner the Go harness starts
(e2e/harness/runner.go) against the harness' Prefect server:

  ti_pipeline.e2e  extract (result persisted as JSON) -> square.map over 3 items -> flaky
                   (fails its first try, retried once) -> report (logs, makes an artifact)
  ti_failing.e2e   prepare -> explode (logs, then raises: the run fails) -> never_runs

`python e2e/flows/flows.py` serves both deployments until it is stopped.
"""
from prefect import flow, get_run_logger, runtime, serve, task
from prefect.artifacts import create_markdown_artifact


@task(persist_result=True, result_serializer="json")
def extract(n: int) -> list:
    get_run_logger().info("extracting %d rows", n)
    return list(range(1, n + 1))


@task(persist_result=False)
def square(x: int) -> int:
    get_run_logger().info("squaring %d", x)
    return x * x


@task(retries=1, retry_delay_seconds=1, persist_result=True, result_serializer="json")
def flaky(values: list) -> int:
    log = get_run_logger()
    attempt = runtime.task_run.run_count
    log.info("flaky attempt %d", attempt)
    if attempt < 2:
        raise RuntimeError("the first attempt fails on purpose")
    return sum(values)


@task(persist_result=False)
def report(total: int) -> None:
    get_run_logger().warning("total is %d", total)
    create_markdown_artifact(key="e2e-report", markdown=f"# total {total}", description="e2e report")


@flow(name="ti_pipeline")
def ti_pipeline(n: int = 3) -> int:
    rows = extract(n)
    squares = square.map(rows)
    total = flaky([s.result() for s in squares])
    report(total)
    return total


@task
def prepare() -> int:
    get_run_logger().info("preparing")
    return 7


@task
def explode(x: int) -> int:
    get_run_logger().error("about to fail with %d", x)
    raise ValueError(f"explode failed on {x}")


@task
def never_runs(x: int) -> int:
    return x


@flow(name="ti_failing")
def ti_failing() -> int:
    x = prepare()
    y = explode(x)
    return never_runs(y)


if __name__ == "__main__":
    serve(
        ti_pipeline.to_deployment(name="e2e", tags=["e2e"]),
        ti_failing.to_deployment(name="e2e", tags=["e2e"]),
        limit=4,
    )
