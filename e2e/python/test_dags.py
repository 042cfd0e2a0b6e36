"""DAGApi: list page by page, filters, read, details, tasks, pause and unpause."""
import pytest

from airflow_client.client.exceptions import ApiException
from airflow_client.client.model.dag import DAG
from airflow_client.client.model.dag_collection import DAGCollection
from airflow_client.client.model.dag_detail import DAGDetail
from airflow_client.client.model.task_collection import TaskCollection


@pytest.fixture(scope="module")
def listed(seed):
    """Five DAGs under one flow, the even ones tagged."""
    tag = seed.prefix + "-even"
    ids = [seed.dag("listed", "d%d" % i, tags=[tag] if i % 2 == 0 else ["other"]) for i in range(5)]
    return {"ids": ids, "tag": tag, "pattern": seed.prefix + "_listed"}


def test_list_dags_page_by_page(dags, listed):
    seen, offset, pages = [], 0, 0
    while True:
        page = dags.get_dags(dag_id_pattern=listed["pattern"], limit=2, offset=offset)
        assert isinstance(page, DAGCollection)
        assert page.total_entries == 5
        assert len(page.dags) <= 2
        pages += 1
        seen += [d.dag_id for d in page.dags]
        offset += len(page.dags)
        if not page.dags or offset >= page.total_entries:
            break
    assert pages == 3
    assert seen == sorted(listed["ids"]), "pages must follow dag_id order without gaps or repeats"


def test_list_dags_filters(dags, listed):
    tagged = dags.get_dags(dag_id_pattern=listed["pattern"], tags=[listed["tag"]])
    assert sorted(d.dag_id for d in tagged.dags) == [listed["ids"][i] for i in (0, 2, 4)]
    assert tagged.total_entries == 3
    for d in tagged.dags:
        assert listed["tag"] in [t.name for t in d.tags]
    # Case-insensitive substring, as in Airflow.
    upper = dags.get_dags(dag_id_pattern=listed["pattern"].upper())
    assert upper.total_entries == 5
    none = dags.get_dags(dag_id_pattern=listed["pattern"] + "_nothing")
    assert none.total_entries == 0 and none.dags == []


def test_get_dag(dags, listed):
    dag_id = listed["ids"][0]
    dag = dags.get_dag(dag_id)
    assert isinstance(dag, DAG)
    assert dag.dag_id == dag_id
    assert dag.is_paused is False
    partial = dags.get_dag(dag_id, fields=["dag_id", "is_paused"])
    assert partial.dag_id == dag_id


def test_get_dag_details(dags, listed):
    dag_id = listed["ids"][1]
    detail = dags.get_dag_details(dag_id)
    assert isinstance(detail, DAGDetail)
    assert detail.dag_id == dag_id


def test_get_tasks(dags, listed):
    tasks = dags.get_tasks(listed["ids"][2])
    assert isinstance(tasks, TaskCollection)
    assert isinstance(tasks.tasks, list)


def test_get_task_of_a_dag_without_tasks_is_404(dags, listed):
    with pytest.raises(ApiException) as e:
        dags.get_task(listed["ids"][2], "no_such_task")
    assert e.value.status == 404
    assert e.value.headers["Content-Type"].startswith("application/problem+json")


def test_unknown_dag_is_404(dags, seed):
    with pytest.raises(ApiException) as e:
        dags.get_dag(seed.prefix + "_nope.nope")
    assert e.value.status == 404
    assert e.value.headers["Content-Type"].startswith("application/problem+json")


def test_pause_and_unpause(dags, seed, prefect):
    dag_id = seed.dag("pause", "one")
    deployment = seed.deployment_ids[dag_id]
    paused = dags.patch_dag(dag_id, DAG(is_paused=True), update_mask=["is_paused"])
    assert isinstance(paused, DAG) and paused.is_paused is True
    assert prefect.read_deployment(deployment)["paused"] is True
    assert [d.dag_id for d in dags.get_dags(dag_id_pattern=seed.prefix + "_pause", paused=True).dags] == [dag_id]
    assert dags.get_dags(dag_id_pattern=seed.prefix + "_pause", paused=False).total_entries == 0

    unpaused = dags.patch_dag(dag_id, DAG(is_paused=False))
    assert unpaused.is_paused is False
    assert prefect.read_deployment(deployment)["paused"] is False
    assert dags.get_dag(dag_id).is_paused is False


def test_pause_and_unpause_many(dags, seed, prefect):
    ids = [seed.dag("bulk", "b%d" % i) for i in range(3)]
    pattern = seed.prefix + "_bulk"
    changed = dags.patch_dags(pattern, DAG(is_paused=True), update_mask=["is_paused"])
    assert isinstance(changed, DAGCollection)
    assert changed.total_entries == 3
    assert sorted(d.dag_id for d in changed.dags) == sorted(ids)
    assert all(d.is_paused for d in changed.dags)
    assert all(prefect.read_deployment(seed.deployment_ids[i])["paused"] for i in ids)
    changed = dags.patch_dags(pattern, DAG(is_paused=False), update_mask=["is_paused"])
    assert not any(d.is_paused for d in changed.dags)
    assert dags.get_dags(dag_id_pattern=pattern, paused=True).total_entries == 0


def test_patch_dag_refuses_other_fields(dags, listed):
    with pytest.raises(ApiException) as e:
        dags.patch_dag(listed["ids"][0], DAG(is_paused=True), update_mask=["description"])
    assert e.value.status == 400
