"""MonitoringApi: open routes, models deserialize."""
from airflow_client.client.api import monitoring_api
from airflow_client.client.model.health_info import HealthInfo
from airflow_client.client.model.version_info import VersionInfo

from conftest import make_client, wait_for


def status(component):
    """HealthStatus is a model wrapping a nullable string."""
    return None if component.status is None else component.status.value


def test_health(monitoring, prefect):
    # The gateway reports Prefect unhealthy when its readiness check is slow; on a loaded
    # machine give it a few tries.
    health = wait_for(lambda: (lambda h: h if status(h.metadatabase) == "healthy" else None)(monitoring.get_health()),
                      "a healthy answer", timeout=60, interval=1)
    assert isinstance(health, HealthInfo)
    # What Prefect says of its scheduler service, and no made-up heartbeat (Prefect keeps none).
    enabled = prefect.call("GET", "/admin/settings")[1]["server"]["services"]["scheduler"]["enabled"]
    assert status(health.scheduler) == ("healthy" if enabled else "unhealthy")
    assert health.scheduler.latest_scheduler_heartbeat is None


def test_version(monitoring):
    info = monitoring.get_version()
    assert isinstance(info, VersionInfo)
    assert isinstance(info.version, str) and info.version


def test_health_and_version_need_no_credentials():
    with make_client(None) as anonymous:
        api = monitoring_api.MonitoringApi(anonymous)
        assert isinstance(api.get_health(), HealthInfo)
        assert api.get_version().version
