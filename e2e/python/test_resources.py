"""PoolApi and ConnectionApi as the Terraform Airflow provider uses them (create, read back,
update with and without update_mask, delete, read -> 404), and the users, roles, config,
plugins and providers calls."""
import json
import uuid

import pytest

from airflow_client.client.api import (config_api, connection_api, permission_api, plugin_api, pool_api,
                                       provider_api, role_api, user_api)
from airflow_client.client.exceptions import ApiException, ForbiddenException, NotFoundException
from airflow_client.client.model.connection import Connection
from airflow_client.client.model.pool import Pool


def test_pool_life_cycle(client):
    pools = pool_api.PoolApi(client)
    name = "conformance pool %s" % uuid.uuid4().hex[:8]
    created = pools.post_pool(Pool(name=name, slots=4, description="made by the suite", include_deferred=False))
    assert (created.name, created.slots, created.open_slots, created.occupied_slots) == (name, 4, 4, 0)
    got = pools.get_pool(name)
    assert (got.slots, got.description) == (4, "made by the suite")
    updated = pools.patch_pool(name, Pool(name=name, slots=6, description=None, include_deferred=False))
    assert (updated.slots, updated.description) == (6, None)
    updated = pools.patch_pool(name, Pool(slots=2), update_mask=["slots"])
    assert updated.slots == 2
    listed = pools.get_pools(limit=100)
    assert "default_pool" in {p.name for p in listed.pools} and name in {p.name for p in listed.pools}
    pools.delete_pool(name)
    with pytest.raises(NotFoundException):
        pools.get_pool(name)
    with pytest.raises(ApiException) as e:
        pools.delete_pool("default_pool")
    assert e.value.status == 400 and json.loads(e.value.body)["detail"] == "Default Pool can't be deleted"


def test_connection_life_cycle(client):
    conns = connection_api.ConnectionApi(client)
    cid = "conformance_conn_%s" % uuid.uuid4().hex[:8]
    created = conns.post_connection(Connection(connection_id=cid, conn_type="postgres", host="db", port=5432,
                                               login="u", password="s3cret", extra='{"sslmode": "require"}'))
    assert (created.connection_id, created.host, created.port) == (cid, "db", 5432)
    got = conns.get_connection(cid)
    assert (got.conn_type, got.login, got.extra) == ("postgres", "u", '{"sslmode": "require"}')
    assert "password" not in got.to_dict()
    updated = conns.patch_connection(cid, Connection(connection_id=cid, conn_type="postgres", host="db2"),
                                     update_mask=["host"])
    assert (updated.host, updated.login) == ("db2", "u")
    assert cid in {c.connection_id for c in conns.get_connections(limit=100).connections}
    with pytest.raises(ForbiddenException):
        conns.test_connection(Connection(connection_id=cid, conn_type="postgres"))
    conns.delete_connection(cid)
    with pytest.raises(NotFoundException):
        conns.get_connection(cid)


def test_users_roles_config_plugins_providers(client):
    users = user_api.UserApi(client).get_users()
    assert users.total_entries == len(users.users) >= 1
    roles = role_api.RoleApi(client).get_roles()
    assert sorted(r.name for r in roles.roles) == ["Admin", "Op", "User", "Viewer"]
    assert permission_api.PermissionApi(client).get_permissions().total_entries == 5
    with pytest.raises(ApiException) as e:
        role_api.RoleApi(client).delete_role("Viewer")
    assert e.value.status == 405
    with pytest.raises(ForbiddenException) as e:
        config_api.ConfigApi(client).get_config()
    assert "chose not to expose the configuration" in json.loads(e.value.body)["detail"]
    assert plugin_api.PluginApi(client).get_plugins().total_entries == 0
    # The client types this answer as a plain dict (its model is an allOf).
    providers = provider_api.ProviderApi(client).get_providers()
    assert providers["providers"] == [] and providers["total_entries"] == 0
