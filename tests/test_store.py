"""The store: tenant scoping, versions, compare-and-set, keyed values; a concurrent PATCH race."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from mockserver.store import MemoryStore, RecordNotFound, VersionConflict, etag_of

from tests_helpers import api1_create

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_records_are_scoped_by_provider_and_tenant() -> None:
    store = MemoryStore()
    store.insert("p", "t1", "r1", {"a": 1})
    assert store.get("p", "t1", "r1") is not None
    assert store.get("p", "t2", "r1") is None
    assert store.get("q", "t1", "r1") is None
    assert [r.id for r in store.list("p", "t1")] == ["r1"]
    assert store.list("p", "t2") == []
    located = store.locate("p", "r1")
    assert located is not None and located.tenant == "t1"


def test_every_write_bumps_the_version_and_the_etag() -> None:
    store = MemoryStore()
    first = store.insert("p", "t", "r", {"a": 1})
    second = store.replace("p", "t", "r", {"a": 2})
    third = store.replace("p", "t", "r", {"a": 2})
    assert (first.version, second.version, third.version) == (1, 2, 3)
    assert len({first.etag, second.etag, third.etag}) == 3
    assert third.etag == etag_of("r", 3)


def test_compare_and_set_refuses_a_stale_version() -> None:
    store = MemoryStore()
    store.insert("p", "t", "r", {"a": 1})
    store.replace("p", "t", "r", {"a": 2}, expected_version=1)
    with pytest.raises(VersionConflict) as raised:
        store.replace("p", "t", "r", {"a": 3}, expected_version=1)
    assert raised.value.current.data == {"a": 2}
    with pytest.raises(RecordNotFound):
        store.replace("p", "t", "missing", {})


def test_stored_data_is_a_copy() -> None:
    store = MemoryStore()
    data = {"nested": {"a": 1}}
    store.insert("p", "t", "r", data)
    data["nested"]["a"] = 99
    record = store.get("p", "t", "r")
    assert record is not None and record.data == {"nested": {"a": 1}}


def test_duplicate_ids_are_refused() -> None:
    store = MemoryStore()
    store.insert("p", "t", "r", {})
    with pytest.raises(ValueError, match="already exists"):
        store.insert("p", "other", "r", {})


def test_values_expire_and_take_is_single_use() -> None:
    store = MemoryStore()
    store.put_value("ns", "k", {"v": 1}, NOW + timedelta(hours=1))
    assert store.get_value("ns", "k", NOW) == {"v": 1}
    assert store.get_value("ns", "k", NOW + timedelta(hours=1)) is None
    assert store.take_value("ns", "k", NOW) == {"v": 1}
    assert store.take_value("ns", "k", NOW) is None


def test_delete_and_clear() -> None:
    store = MemoryStore()
    store.insert("p", "t", "r", {})
    assert store.delete("p", "t", "r") is True
    assert store.delete("p", "t", "r") is False
    assert store.locate("p", "r") is None
    store.insert("p", "t", "r2", {})
    store.clear()
    assert store.count() == 0


def test_32_threads_patching_with_one_etag_give_exactly_one_204(client: FlaskClient) -> None:
    consent_id, etag = api1_create(client)
    barrier = threading.Barrier(32)
    statuses: list[int] = []
    lock = threading.Lock()

    def patch(n: int) -> None:
        barrier.wait()
        response = client.patch(
            f"/api1/api/v1/consents/{consent_id}",
            json={"name": f"writer-{n}"},
            headers={**_headers(), "If-Match": etag},
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=patch, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [204] + [412] * 31
    final = client.get(f"/api1/api/v1/consents/{consent_id}", headers=_headers())
    assert final.json["name"].startswith("writer-")
    assert final.headers["ETag"] == etag_of(consent_id, 2)


def _headers() -> dict[str, str]:
    from conftest import api1_headers

    return api1_headers()
