"""One conformance suite for every store kind, and a concurrent conditional-PATCH race."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver.storage import open_store
from mockserver.store import (
    IndexKeys,
    Record,
    RecordNotFound,
    Store,
    VersionConflict,
    Window,
    etag_of,
)
from mockserver.stores import sqlite as sqlite_slots
from mockserver.stores.memory import MemoryStore
from mockserver.stores.sqlite import SqliteStore

from conftest import RedisServer
from tests_helpers import api1_create, json_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = ["memory", "sqlite", "redis"]


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Every store kind runs the same conformance tests."""
    kind = request.param
    if kind == "redis":
        spec = request.getfixturevalue("redis_server").fresh_url()
    else:
        spec = "memory" if kind == "memory" else f"sqlite:{tmp_path / 'state.sqlite'}"
    opened = open_store(spec)
    try:
        yield opened
    finally:
        opened.close()


def _rewrite(store: Store, tenant: str, record_id: str, data: dict[str, Any]) -> Record:
    """Write over provider p's record as it is now (a write here races no other)."""
    current = store.get("p", tenant, record_id)
    assert current is not None
    return store.replace(current, data)


def test_records_are_scoped_by_provider_and_tenant(store: Store) -> None:
    store.insert("p", "t1", "r1", {"a": 1})
    assert store.get("p", "t1", "r1") is not None
    assert store.get("p", "t2", "r1") is None
    assert store.get("q", "t1", "r1") is None
    assert [r.id for r in store.list("p", "t1")] == ["r1"]
    assert store.list("p", "t2") == []
    located = store.locate("p", "r1")
    assert located is not None and located.tenant == "t1"


def test_every_write_bumps_the_version_and_the_etag(store: Store) -> None:
    first = store.insert("p", "t", "r", {"a": 1})
    second = _rewrite(store, "t", "r", {"a": 2})
    third = _rewrite(store, "t", "r", {"a": 2})
    assert (first.version, second.version, third.version) == (1, 2, 3)
    assert len({first.etag, second.etag, third.etag}) == 3
    assert third.etag == etag_of("r", 3)


def test_compare_and_set_refuses_a_stale_version(store: Store) -> None:
    first = store.insert("p", "t", "r", {"a": 1})
    store.replace(first, {"a": 2})
    with pytest.raises(VersionConflict) as raised:
        store.replace(first, {"a": 3})
    assert raised.value.current.data == {"a": 2}
    with pytest.raises(RecordNotFound):
        store.replace(Record("p", "t", "missing", 1, {}), {})


def test_stored_data_is_a_copy(store: Store) -> None:
    data = {"nested": {"a": 1}}
    store.insert("p", "t", "r", data)
    data["nested"]["a"] = 99
    record = store.get("p", "t", "r")
    assert record is not None and record.data == {"nested": {"a": 1}}


def test_ids_tenants_and_keys_may_hold_any_character(store: Store) -> None:
    store.insert("p", "t:1", "a:b", {"n": 1})
    store.insert("p", "t", "1:a:b", {"n": 2})
    store.insert("p:t", "1", "x%3Ay", {"n": 3})
    assert [r.id for r in store.list("p", "t:1")] == ["a:b"]
    assert [r.id for r in store.list("p", "t")] == ["1:a:b"]
    assert [r.id for r in store.list("p:t", "1")] == ["x%3Ay"]
    assert store.get("p", "t", "a:b") is None and store.locate("p:t", "a:b") is None
    store.put_value("n:s", "k", 1, None)
    store.put_value("n", "s:k", 2, None)
    assert (store.get_value("n:s", "k", NOW), store.get_value("n", "s:k", NOW)) == (1, 2)


def test_records_are_listed_in_insertion_order(store: Store) -> None:
    ids = [f"r{n}" for n in (5, 1, 9, 3, 7, 2)]
    for record_id in ids:
        store.insert("p", "t", record_id, {})
    store.delete("p", "t", "r9")
    _rewrite(store, "t", "r5", {"changed": True})
    assert [r.id for r in store.list("p", "t")] == [i for i in ids if i != "r9"]


def test_duplicate_ids_are_refused(store: Store) -> None:
    store.insert("p", "t", "r", {})
    with pytest.raises(ValueError, match="already exists"):
        store.insert("p", "other", "r", {})


def test_values_expire_and_take_is_single_use(store: Store) -> None:
    store.put_value("ns", "k", {"v": 1}, NOW + timedelta(hours=1))
    assert store.get_value("ns", "k", NOW) == {"v": 1}
    assert store.get_value("ns", "k", NOW + timedelta(hours=1)) is None
    assert store.take_value("ns", "k", NOW) == {"v": 1}
    assert store.take_value("ns", "k", NOW) is None


def test_the_first_claim_wins_and_every_claimant_sees_it(store: Store) -> None:
    barrier = threading.Barrier(16)
    seen: list[Any] = []

    def claim(n: int) -> None:
        barrier.wait()
        seen.append(store.claim_value("secrets", "app", {"secret": n}, NOW))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner = store.get_value("secrets", "app", NOW)
    assert winner is not None and seen == [winner] * 16
    assert store.claim_value("secrets", "app", {"secret": "late"}, NOW) == winner
    store.put_value("secrets", "gone", "old", NOW)  # expired by now
    assert store.claim_value("secrets", "gone", "new", NOW) == "new"
    assert store.get_value("secrets", "gone", NOW + timedelta(days=999)) == "new"


def test_delete_and_clear(store: Store) -> None:
    store.insert("p", "t", "r", {})
    assert store.delete("p", "t", "r") is True
    assert store.delete("p", "t", "r") is False
    assert store.locate("p", "r") is None
    store.insert("p", "t", "r2", {})
    store.clear()
    assert store.count() == 0


def test_documents_are_replaced_whole(store: Store) -> None:
    assert store.read_doc("clock") is None
    store.write_doc("clock", {"offset": 1.5, "tenants": {"a": 2}})
    assert store.read_doc("clock") == {"offset": 1.5, "tenants": {"a": 2}}
    store.write_doc("clock", {"offset": 0})
    assert store.read_doc("clock") == {"offset": 0}


def test_journal_is_a_ring(store: Store) -> None:
    ids = [store.journal_append({"n": n}, capacity=3) for n in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    entries = store.journal_entries()
    assert [e["n"] for e in entries] == [2, 3, 4]
    assert [e["id"] for e in entries] == ids[2:]
    assert store.journal_size() == 3
    assert store.journal_clear() == 3 and store.journal_entries() == []


def test_faults_are_counted_and_spent(store: Store) -> None:
    once = store.fault_add({"status": 503, "times": 2})
    forever = store.fault_add({"status": 500, "times": None})
    assert [f["id"] for f in store.fault_list()] == [once["id"], forever["id"]]
    assert store.fault_hit(once["id"]) and store.fault_hit(once["id"])
    assert not store.fault_hit(once["id"])
    assert [f["id"] for f in store.fault_list()] == [forever["id"]]
    assert store.fault_list()[0]["hits"] == 0
    assert store.fault_hit(forever["id"]) and store.fault_list()[0]["hits"] == 1
    assert store.fault_remove(forever["id"]) == 1 and store.fault_remove() == 0


def test_a_fault_is_spent_exactly_times_under_concurrency(store: Store) -> None:
    fault = store.fault_add({"status": 503, "times": 5})
    barrier = threading.Barrier(16)
    used: list[bool] = []

    def hit() -> None:
        barrier.wait()
        used.append(store.fault_hit(fault["id"]))

    threads = [threading.Thread(target=hit) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert used.count(True) == 5 and store.fault_list() == []


def test_clear_forgets_every_kind_of_state(store: Store) -> None:
    store.insert("p", "t", "r", {})
    store.put_value("ns", "k", 1, None)
    store.write_doc("d", 1)
    store.journal_append({}, 10)
    store.fault_add({"status": 500})
    store.feed_append("f", 1, 10)
    store.clear()
    assert store.count() == 0 and store.get_value("ns", "k", NOW) is None
    assert (
        store.read_doc("d") is None and store.journal_entries() == [] and store.fault_list() == []
    )
    assert store.feed_read("f") == []
    assert store.page("p", "t") == ([], 0)
    store.insert("p", "t", "again", {})
    assert store.page("p", "t")[1] == 1


def test_concurrent_compare_and_set_has_one_winner(store: Store) -> None:
    first = store.insert("p", "t", "r", {"n": 0})
    barrier = threading.Barrier(16)
    wins: list[int] = []

    def write(n: int) -> None:
        barrier.wait()
        try:
            store.replace(first, {"n": n})
            wins.append(n)
        except VersionConflict:
            pass

    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record = store.get("p", "t", "r")
    assert len(wins) == 1 and record is not None and record.data == {"n": wins[0]}


def _keys(data: dict[str, Any]) -> IndexKeys:
    """A toy provider: status in `s`, listed by `at`, changing at `until` (if any)."""
    return (str(data.get("s", "")), f"{data.get('at', 0):05d}", data.get("until"))


def _ids(records: list[Record]) -> list[str]:
    return [r.id for r in records]


def test_pages_follow_the_order_key_then_the_insertion_order(store: Store) -> None:
    store.index("p", _keys)
    for record_id, at in [("c", 3), ("a", 1), ("e", 5), ("b", 3), ("d", 4)]:
        store.insert("p", "t", record_id, {"s": "on" if at % 2 else "off", "at": at})
    store.insert("p", "other", "z", {"s": "on", "at": 0})
    store.insert("q", "t", "y", {"s": "on", "at": 0})
    assert store.page("p", "t") == (store.page("p", "t")[0], 5)
    # c and b tie on `at`: c was inserted first
    assert _ids(store.page("p", "t")[0]) == ["a", "c", "b", "d", "e"]
    assert _ids(store.page("p", "t", Window(descending=True))[0]) == ["e", "d", "b", "c", "a"]
    page, total = store.page("p", "t", Window(offset=1, limit=2))
    assert (_ids(page), total) == (["c", "b"], 5)
    page, total = store.page("p", "t", Window(descending=True, offset=1, limit=2))
    assert (_ids(page), total) == (["d", "b"], 5)
    _rewrite(store, "t", "c", {"s": "on", "at": 3, "changed": True})  # keeps its place
    page, total = store.page("p", "t", Window(status="on", descending=True))
    assert (_ids(page), total) == (["e", "b", "c", "a"], 4)
    assert store.page("p", "t", Window(status="on", offset=9, limit=2)) == ([], 4)
    assert store.page("p", "t", Window(descending=True, offset=5, limit=2)) == ([], 5)
    assert store.page("p", "t", Window(descending=True, offset=9)) == ([], 5)
    assert _ids(store.page("p", "t", Window(descending=True, offset=4, limit=9))[0]) == ["a"]
    assert store.page("p", "t", Window(limit=0)) == ([], 5)
    assert store.page("p", "t", Window(status="nothing")) == ([], 0)
    assert store.page("p", "nobody") == ([], 0)


def test_writes_move_records_between_statuses_and_places(store: Store) -> None:
    store.index("p", _keys)
    store.insert("p", "t", "a", {"s": "on", "at": 1})
    store.insert("p", "t", "b", {"s": "on", "at": 2})
    _rewrite(store, "t", "a", {"s": "off", "at": 9})
    assert _ids(store.page("p", "t", Window(status="on"))[0]) == ["b"]
    assert _ids(store.page("p", "t", Window(status="off"))[0]) == ["a"]
    assert _ids(store.page("p", "t")[0]) == ["b", "a"]
    listed = store.page("p", "t", Window(status="off"))[0][0]
    assert (listed.version, listed.data) == (2, {"s": "off", "at": 9})
    store.delete("p", "t", "a")
    assert store.page("p", "t", Window(status="off")) == ([], 0) and store.page("p", "t")[1] == 1


def test_due_gives_the_records_whose_deadline_has_come(store: Store) -> None:
    store.index("p", _keys)
    store.insert("p", "t", "late", {"until": 300.0})
    store.insert("p", "t", "soon", {"until": 100.0})
    store.insert("p", "t", "never", {})
    store.insert("p", "u", "other", {"until": 1.0})
    assert store.due("p", "t", 99.5) == []
    assert _ids(store.due("p", "t", 100.0)) == ["soon"]
    assert _ids(store.due("p", "t", 1e9)) == ["soon", "late"]
    _rewrite(store, "t", "soon", {})  # settled: no deadline any more
    _rewrite(store, "t", "late", {"until": 50.0})
    assert _ids(store.due("p", "t", 100.0)) == ["late"]
    store.delete("p", "t", "late")
    assert store.due("p", "t", 1e9) == []


def test_records_written_before_index_get_their_keys(store: Store) -> None:
    store.insert("p", "t", "a", {"s": "on", "at": 2, "until": 10.0})
    store.insert("p", "t", "b", {"s": "off", "at": 1})
    store.index("p", _keys)
    assert _ids(store.page("p", "t", Window(status="on"))[0]) == ["a"]
    assert _ids(store.page("p", "t")[0]) == ["b", "a"]
    assert _ids(store.due("p", "t", 10.0)) == ["a"]
    _rewrite(store, "t", "a", {"s": "off", "at": 0})
    assert _ids(store.page("p", "t", Window(status="off"))[0]) == ["a", "b"]


def test_tenants_are_named_with_the_records_they_hold(store: Store) -> None:
    store.index("p", _keys)
    assert store.tenants("p") == {}
    for record_id in ("a", "b", "c"):
        store.insert("p", "t:2", record_id, {"s": "on", "at": 1})
    store.insert("p", "t1", "d", {"s": "off", "at": 1})
    store.insert("q", "t0", "e", {"s": "on", "at": 1})
    assert store.tenants("p") == {"t1": 1, "t:2": 3}
    assert list(store.tenants("p")) == ["t1", "t:2"]  # by name
    _rewrite(store, "t:2", "a", {"s": "off", "at": 2})  # a status change moves no count
    assert store.tenants("p") == {"t1": 1, "t:2": 3}
    store.delete("p", "t1", "d")
    assert store.tenants("p") == {"t:2": 3}  # a tenant with nothing left is gone
    assert store.tenants("q") == {"t0": 1} and store.tenants("nobody") == {}
    store.clear()
    assert store.tenants("p") == {} and store.tenants("q") == {}


def test_tenants_of_records_written_before_index(store: Store) -> None:
    store.insert("p", "t", "a", {"s": "on", "at": 1})
    store.insert("p", "u", "b", {"s": "on", "at": 1})
    store.index("p", _keys)
    assert store.tenants("p") == {"t": 1, "u": 1}


def test_feeds_keep_their_last_entries_in_order(store: Store) -> None:
    for n in range(5):
        store.feed_append("outbox", {"n": n}, capacity=3)
    store.feed_append("other", "x", capacity=3)
    assert store.feed_read("outbox") == [{"n": 2}, {"n": 3}, {"n": 4}]
    assert store.feed_read("nothing") == []
    assert store.feed_clear("outbox") == 3
    assert store.feed_read("outbox") == [] and store.feed_read("other") == ["x"]
    store.clear()
    assert store.feed_read("other") == []


@pytest.fixture(params=["sqlite", "redis"])
def shared_spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store several processes open at once."""
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_server").fresh_url()
        return url
    return f"sqlite:{tmp_path / 'shared.sqlite'}"


def test_a_second_handle_sees_every_write_at_once(shared_spec: str) -> None:
    """Two handles on one store stand for two workers: what one reads (and may keep), the
    other's write replaces at once, for records, documents and faults alike."""
    writer, reader = open_store(shared_spec), open_store(shared_spec)
    try:
        writer.insert("p", "t", "r", {"a": 1})
        for _ in range(2):  # the second read may come from a cache
            first = reader.get("p", "t", "r")
            assert first is not None and first.version == 1
        _rewrite(writer, "t", "r", {"a": 2})
        second = reader.get("p", "t", "r")
        assert second is not None and (second.version, second.data) == (2, {"a": 2})
        located = reader.locate("p", "r")
        assert located is not None and located.version == 2
        assert reader.get("p", "other-tenant", "r") is None
        writer.delete("p", "t", "r")
        assert reader.get("p", "t", "r") is None and reader.locate("p", "r") is None

        assert reader.read_doc("clock") is None
        writer.write_doc("clock", {"offset": 7})
        assert reader.read_doc("clock") == {"offset": 7}
        assert reader.fault_list() == []
        added = writer.fault_add({"status": 503, "times": 1})
        assert [f["id"] for f in reader.fault_list()] == [added["id"]]
        assert reader.fault_hit(added["id"])
        assert writer.fault_list() == []
    finally:
        writer.close()
        reader.close()


def test_sqlite_caches_what_a_write_of_another_kind_leaves_current(tmp_path: Path) -> None:
    """A consent written through one worker leaves the clock and faults every other worker
    read where they are, and a clock or fault change leaves their consents: each kind of
    state has its own write generation. A journal entry, a value or a feed moves neither."""
    path = tmp_path / "g.sqlite"
    writer, reader = SqliteStore(path), SqliteStore(path)
    statements: list[str] = []
    try:
        writer.insert("p", "t", "r", {"a": 1})
        writer.write_doc("clock", {"offset": 1})
        reader.get("p", "t", "r"), reader.read_doc("clock"), reader.fault_list()
        reader._db().set_trace_callback(statements.append)

        writer.insert("p", "t", "other", {"b": 2})  # a consent: the clock and faults stay
        assert reader.read_doc("clock") == {"offset": 1} and reader.fault_list() == []
        assert statements == []
        assert reader.get("p", "t", "r") is not None and len(statements) == 1  # re-read
        statements.clear()
        writer.write_doc("clock", {"offset": 2})  # the clock: the consent stays
        assert reader.get("p", "t", "r") is not None and statements == []
        writer.journal_append({"n": 1}, capacity=10)
        writer.put_value("ns", "k", 1, None)
        writer.feed_append("f", "x", capacity=10)
        assert reader.get("p", "t", "r") is not None and statements == []
        assert reader.read_doc("clock") == {"offset": 2} and len(statements) == 1  # re-read
        _rewrite(writer, "t", "r", {"a": 3})
        again = reader.get("p", "t", "r")
        assert again is not None and again.data == {"a": 3} and len(statements) == 2
    finally:
        writer.close()
        reader.close()


def test_sqlite_deferred_journal_entries_keep_their_values_and_order(tmp_path: Path) -> None:
    """Deferred entries are encoded when taken and written as one batch: they come back
    equal, in order, with the ring's capacity applied to the batch."""
    store = SqliteStore(tmp_path / "j.sqlite")
    odd = {"s": 'é\u2028"x', "big": 123456789012345678901234567890, "f": [1.5e-7, -0.0, 1.0]}
    try:
        for n in range(5):
            store.journal_defer({"n": n, **odd}, capacity=4)
        store.journal_flush()
        entries = store.journal_entries()
        assert [e["n"] for e in entries] == [1, 2, 3, 4]
        assert all({k: e[k] for k in odd} == odd for e in entries)
        assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    finally:
        store.close()


def test_a_journal_read_waits_for_the_entries_another_worker_queued(tmp_path: Path) -> None:
    """A read sees an entry another worker queued before it, even when that worker's flusher
    cannot write it for a while (here a third handle holds the write lock for 0.3 s)."""
    path = tmp_path / "j.sqlite"
    worker, reader, blocker = SqliteStore(path), SqliteStore(path), SqliteStore(path)
    held = threading.Event()

    def hold() -> None:
        with blocker._write():
            held.set()
            time.sleep(0.3)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(5)
        worker.journal_defer({"n": 1}, capacity=100)
        assert [e["n"] for e in reader.journal_entries()] == [1]
    finally:
        holder.join()
        for store in (worker, reader, blocker):
            store.close()


def _read_passes_by(reader: SqliteStore, pid: int) -> None:
    """Slot 0 says `pid` queued 5 entries and wrote 2; a journal read must not wait for it."""
    first = sqlite_slots.SLOTS_AT
    reader._gen_map[first : first + 24] = sqlite_slots.SLOT.pack(pid, 5, 2)
    started = time.monotonic()
    assert reader.journal_entries() == []
    assert time.monotonic() - started < 1.0  # not the 2 s bound for a live worker


def test_a_journal_read_does_not_wait_for_a_dead_worker(tmp_path: Path) -> None:
    """A worker killed with entries still queued leaves a slot that says so: a read passes
    it by at once, and the next process takes the slot over."""
    path = tmp_path / "j.sqlite"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    reader = SqliteStore(path)
    first = sqlite_slots.SLOTS_AT
    try:
        _read_passes_by(reader, gone.pid)
        reader.journal_defer({"n": 1}, capacity=10)
        assert reader._slot == 0  # the dead worker's slot, taken over
        assert [e["n"] for e in reader.journal_entries()] == [1]
    finally:
        reader.close()
    assert sqlite_slots.SLOT.unpack_from(reader._gen_map, first) == (0, 0, 0)  # released


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_journal_read_does_not_wait_for_a_worker_that_died_unreaped(tmp_path: Path) -> None:
    """A worker that exited but was not yet reaped (a zombie) still answers kill(pid, 0):
    its pending entries are not waited for either."""
    path = tmp_path / "j.sqlite"
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    reader = SqliteStore(path)
    try:
        _read_passes_by(reader, zombie.pid)
    finally:
        reader.close()
        zombie.wait()


def test_threads_of_one_process_share_one_journal_slot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "j.sqlite")
    start = threading.Barrier(8)
    real_flock = fcntl.flock

    def slow_flock(fd: int, operation: int) -> None:  # a claim that takes a while
        real_flock(fd, operation)
        if operation == fcntl.LOCK_EX:
            time.sleep(0.02)

    monkeypatch.setattr(fcntl, "flock", slow_flock)

    def defer(n: int) -> None:
        start.wait()
        store.journal_defer({"n": n}, capacity=100)

    threads = [threading.Thread(target=defer, args=(n,)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        owners = [
            sqlite_slots.SLOT.unpack_from(store._gen_map, sqlite_slots.SLOTS_AT + n * 24)[0]
            for n in range(8)
        ]
        assert owners.count(os.getpid()) == 1
        assert sorted(e["n"] for e in store.journal_entries()) == list(range(8))
    finally:
        store.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_journal_flusher_runs_at_a_lower_cpu_priority(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "j.sqlite")
    try:
        store.journal_defer({"n": 1}, capacity=10)
        flusher = store._flusher
        assert flusher is not None and flusher.native_id is not None
        base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        # Ten lower than the process (never higher: under `nice -n 19` it stays at 19).
        expected = min(base + 10, 19)
        deadline = time.monotonic() + 5
        while os.getpriority(os.PRIO_PROCESS, flusher.native_id) != expected:
            assert time.monotonic() < deadline, "the flusher kept the request threads' priority"
            time.sleep(0.01)
        time.sleep(0.05)  # and it does not move on from there
        assert os.getpriority(os.PRIO_PROCESS, flusher.native_id) == expected
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
    finally:
        store.close()


def test_sqlite_writes_hold_the_writer_lock_of_the_file(tmp_path: Path) -> None:
    """Writers of every process queue on one flock (beside the file) around their
    transaction: another writer waits for it, and gets it once the first commits."""
    path = tmp_path / "w.sqlite"
    first, second = SqliteStore(path), SqliteStore(path)
    probe = os.open(f"{path}-gen", os.O_RDWR)
    done: list[Record] = []
    try:
        with first._write() as db:
            db.execute("INSERT INTO docs VALUES ('held', '1')")
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            waiting = threading.Thread(target=lambda: done.append(second.insert("p", "t", "r", {})))
            waiting.start()
            waiting.join(0.3)
            assert waiting.is_alive() and not done  # queued behind the open transaction
        waiting.join(10)
        assert [r.version for r in done] == [1]
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
        fcntl.flock(probe, fcntl.LOCK_UN)
    finally:
        os.close(probe)
        first.close()
        second.close()


def test_sqlite_file_of_an_earlier_version_gets_index_keys(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE records (provider TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT "
            "NULL, version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (provider, id))"
        )
        db.execute("INSERT INTO records VALUES ('p', 'a', 't', 3, '{\"s\": \"on\", \"at\": 1}')")
    db.close()
    store = open_store(f"sqlite:{path}")
    store.index("p", _keys)
    page, total = store.page("p", "t", Window(status="on"))
    assert total == 1 and page[0].version == 3 and page[0].data == {"s": "on", "at": 1}
    store.close()


def test_sqlite_state_survives_reopening(tmp_path: Path) -> None:
    path = f"sqlite:{tmp_path / 'kept.sqlite'}"
    first = open_store(path)
    first.insert("p", "t", "r", {"a": 1})
    _rewrite(first, "t", "r", {"a": 2})
    first.write_doc("clock", {"offset": 5})
    first.close()
    second = open_store(path)
    record = second.get("p", "t", "r")
    assert record is not None and record.version == 2 and record.data == {"a": 2}
    assert second.read_doc("clock") == {"offset": 5}
    second.close()


def test_sqlite_paths_that_cannot_hold_a_shared_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="folder .*missing does not exist"):
        open_store(f"sqlite:{tmp_path / 'missing' / 'state.sqlite'}")
    with pytest.raises(ValueError, match="not shared by threads or workers"):
        open_store("sqlite::memory:")
    assert not (tmp_path / "missing").exists()


def test_unknown_store_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="use memory, sqlite:PATH or redis://HOST:PORT/DB"):
        open_store("postgres://x")
    with pytest.raises(ValueError, match="needs a path"):
        open_store("sqlite:")
    assert isinstance(open_store("memory"), MemoryStore)


def test_redis_clear_removes_only_its_own_keys(redis_server: RedisServer) -> None:
    import redis

    from mockserver.stores.redis import RedisStore

    url = redis_server.fresh_url()
    ours, theirs = RedisStore(url, prefix="ours"), RedisStore(url, prefix="theirs")
    foreign = redis.Redis.from_url(url)
    try:
        foreign.set("someone-else:key", "kept")
        for store in (ours, theirs):
            store.insert("p", "t", "r", {"a": 1})
            store.put_value("ns", "k", 1, NOW + timedelta(minutes=5))
            store.write_doc("d", 1)
            store.fault_add({"status": 500})
        last = ours.journal_append({}, 10)
        ours.clear()
        assert ours.count() == 0 and ours.get_value("ns", "k", NOW) is None
        keys = foreign.keys("ours:*")
        assert all(isinstance(key, bytes) and key.startswith(b"ours:seq:") for key in keys)
        assert ours.journal_append({}, 10) > last, "ids keep growing after clear, as elsewhere"
        assert theirs.count() == 1 and theirs.get_value("ns", "k", NOW) == 1
        assert theirs.read_doc("d") == 1 and len(theirs.fault_list()) == 1
        assert foreign.get("someone-else:key") == b"kept"
    finally:
        foreign.close()
        ours.close()
        theirs.close()


def test_redis_store_from_before_the_tenants_hash_gets_it_on_index(
    redis_server: RedisServer,
) -> None:
    from mockserver.stores.redis import RedisStore

    url = redis_server.fresh_url()
    store = RedisStore(url, prefix="old")
    try:
        store.insert("p", "t", "a", {"s": "on", "at": 1})
        store.insert("p", "t", "b", {"s": "on", "at": 1})
        store.insert("p", "u*[x]", "c", {"s": "on", "at": 1})
        store.insert("q", "t", "d", {"s": "on", "at": 1})
        # What an earlier version left: the records and their sets, no tenants hash.
        store._redis.delete("old:tenants:p", "old:tenants:q")
        assert store.tenants("p") == {}
        reopened = RedisStore(url, prefix="old")
        reopened.index("p", _keys)
        assert reopened.tenants("p") == {"t": 2, "u*[x]": 1}
        reopened.delete("p", "t", "a")
        assert reopened.tenants("p") == {"t": 1, "u*[x]": 1}
        reopened.close()
    finally:
        store.close()


def test_redis_values_carry_a_ttl_that_outlasts_simulated_expiry(
    redis_server: RedisServer,
) -> None:
    import redis

    from mockserver.stores.redis import TTL_GRACE_SECONDS, RedisStore

    url = redis_server.fresh_url()
    store, raw = RedisStore(url), redis.Redis.from_url(url)
    try:
        past = datetime(2000, 1, 1, tzinfo=UTC)  # a simulated clock far behind the wall clock
        store.put_value("ns", "old", 1, past + timedelta(minutes=5))
        store.put_value("ns", "forever", 2, None)
        assert store.get_value("ns", "old", past) == 1
        ttl = raw.ttl("mockserver:" + url.rsplit("/", 1)[1] + ":kv:ns:old")
        assert 0 < ttl <= TTL_GRACE_SECONDS
        assert raw.ttl("mockserver:" + url.rsplit("/", 1)[1] + ":kv:ns:forever") == -1
    finally:
        raw.close()
        store.close()


def test_redis_store_explains_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    with pytest.raises(ConnectionError, match="does not answer"):
        open_store(f"redis://127.0.0.1:{_closed_port()}/0")
    url = redis_server.fresh_url()
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"pip install 'consent-mockserver\[redis\]'"):
        open_store(url)


def _closed_port() -> int:
    from mockserver.testing import free_port

    return free_port()


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
    assert json_of(final)["name"].startswith("writer-")
    assert final.headers["ETag"] == etag_of(consent_id, 2)


def _headers() -> dict[str, str]:
    from conftest import api1_headers

    return api1_headers()
