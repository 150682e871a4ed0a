"""Expired values leave the store (issue 18 point 4): the memory and SQLite stores sweep them by
the simulated clocks, a bounded batch at a time; Redis lets their TTL delete them."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mockserver import SimClock, create_app
from mockserver.storage import open_store
from mockserver.store import COLLECT_EVERY, COLLECT_LIMIT, Store
from mockserver.stores.memory import MemoryStore

from conftest import RedisServer

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)

Count = Callable[[], int]


@pytest.fixture(params=["memory", "sqlite"])
def counted(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Count]]:
    """A sweeping store, and how many values it holds (expired ones included: what it keeps,
    not what it answers)."""
    if request.param == "memory":
        memory = MemoryStore()
        yield memory, lambda: len(memory._values)
        return
    path = tmp_path / "state.sqlite"
    store = open_store(f"sqlite:{path}")

    def rows() -> int:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT COUNT(*) FROM kv").fetchone()[0])

    try:
        yield store, rows
    finally:
        store.close()


def test_a_sweep_deletes_what_has_expired_a_bounded_batch_at_a_time(
    counted: tuple[Store, Count],
) -> None:
    store, count = counted
    short = COLLECT_LIMIT * 2 + 10
    for n in range(short):
        store.put_value("short", f"k{n}", n, LATER)
    store.put_value("short", "later", "kept", LATER + timedelta(hours=1))
    store.put_value("forever", "k", "kept", None)
    assert store.collect(NOW) == 0  # nothing has expired yet
    assert count() == short + 2
    assert store.collect(LATER) == COLLECT_LIMIT  # expiry at `now` counts as expired
    assert store.collect(LATER) == COLLECT_LIMIT
    assert store.collect(LATER) == 10
    assert store.collect(LATER + timedelta(minutes=30)) == 0
    assert count() == 2
    assert store.get_value("short", "later", LATER) == "kept"
    assert store.get_value("forever", "k", LATER + timedelta(days=999)) == "kept"


def test_a_value_rewritten_with_a_later_expiry_is_kept(counted: tuple[Store, Count]) -> None:
    store, count = counted
    store.put_value("ns", "k", 1, LATER)
    store.put_value("ns", "k", 2, LATER + timedelta(hours=1))  # its first expiry is stale
    store.put_value("ns", "gone", 3, LATER)
    store.delete_value("ns", "gone")
    assert store.collect(LATER) == 0
    assert store.get_value("ns", "k", LATER) == 2
    assert store.collect(LATER + timedelta(hours=1)) == 1
    assert count() == 0


def test_expiring_writes_sweep_by_the_horizon_on_their_own(counted: tuple[Store, Count]) -> None:
    store, count = counted
    horizon = [NOW]
    store.collect_by(lambda: horizon[0])
    piled = COLLECT_LIMIT * 2 + 10
    for n in range(piled):  # sweeps run meanwhile, but nothing has expired at NOW
        store.put_value("short", f"k{n}", n, LATER)
    assert count() == piled
    horizon[0] = LATER  # the clocks move past every expiry
    for n in range(COLLECT_EVERY * 3):  # three sweeps: more than `piled` values collected
        store.put_value("fresh", f"k{n}", n, LATER + timedelta(hours=1))
    assert count() == COLLECT_EVERY * 3


def test_values_without_expiry_never_trigger_a_sweep(counted: tuple[Store, Count]) -> None:
    store, count = counted
    store.put_value("short", "k", 1, LATER)
    store.collect_by(lambda: LATER)
    for n in range(COLLECT_EVERY * 2):
        store.put_value("forever", f"k{n}", n, None)
    assert count() == COLLECT_EVERY * 2 + 1


def test_the_app_collects_by_the_earliest_of_its_clocks(clock: SimClock) -> None:
    """A tenant whose clock runs ahead does not collect what is live on the others' clocks."""
    store = MemoryStore()
    create_app(["api1"], clock=clock, store=store)
    clock.advance(timedelta(days=1), tenant="ahead")
    start = clock.now()
    for n in range(COLLECT_EVERY):
        store.put_value("short", f"k{n}", n, start + timedelta(minutes=5))
    clock.advance(timedelta(minutes=10), tenant="ahead")
    for n in range(COLLECT_EVERY):
        store.put_value("other", f"k{n}", n, start + timedelta(hours=1))
    assert len(store._values) == COLLECT_EVERY * 2  # live on the global clock: kept
    clock.advance(timedelta(minutes=10))  # now past them on every clock
    for n in range(COLLECT_EVERY):
        store.put_value("other", f"k{n}", n, start + timedelta(hours=1))
    assert len(store._values) == COLLECT_EVERY


def test_the_earliest_clock_is_the_one_furthest_behind(clock: SimClock) -> None:
    base = clock.now()
    assert clock.earliest() == base
    clock.advance(timedelta(hours=1), tenant="ahead")
    assert clock.earliest() == base
    clock.advance(timedelta(hours=-2), tenant="behind")
    assert clock.earliest() == base - timedelta(hours=2)


def test_redis_deletes_expired_values_by_their_ttl(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    from mockserver.stores.redis import RedisStore, state

    # The TTL outlasts the expiry by a week (a simulated clock may lag the wall clock); none
    # here, so the test sees the deletion within a second.
    monkeypatch.setattr(state, "TTL_GRACE_SECONDS", 0)
    url = redis_server.fresh_url()
    store, raw = RedisStore(url), redis.Redis.from_url(url)
    try:
        soon = datetime.now(UTC) + timedelta(milliseconds=500)
        for n in range(50):
            store.put_value("short", f"k{n}", n, soon)
        store.put_value("forever", "k", 1, None)
        assert store.collect(soon) == 0  # Redis needs no sweep
        assert len(raw.keys(f"{store.prefix}:kv:*")) == 51
        deadline = time.monotonic() + 5
        while len(raw.keys(f"{store.prefix}:kv:*")) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert raw.keys(f"{store.prefix}:kv:*") == [f"{store.prefix}:kv:forever:k".encode()]
    finally:
        raw.close()
        store.close()
