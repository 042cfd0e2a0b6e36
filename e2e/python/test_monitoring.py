"""MonitoringApi: open routes, models deserialize."""
from airflow_client.client.api import monitoring_api
from airflow_client.client.model.health_info import HealthInfo
from airflow_client.client.model.version_info import VersionInfo

from conftest import make_client


def status(component):
    """HealthStatus is a model wrapping a nullable string."""
    return None if component.status is None else component.status.value


def test_health(monitoring):
    health = monitoring.get_health()
    assert isinstance(health, HealthInfo)
    assert status(health.metadatabase) == "healthy"
    assert status(health.scheduler) == "healthy"
    assert health.scheduler.latest_scheduler_heartbeat


def test_version(monitoring):
    info = monitoring.get_version()
    assert isinstance(info, VersionInfo)
    assert isinstance(info.version, str) and info.version


def test_health_and_version_need_no_credentials():
    with make_client(None) as anonymous:
        api = monitoring_api.MonitoringApi(anonymous)
        assert status(api.get_health().metadatabase) == "healthy"
        assert api.get_version().version
