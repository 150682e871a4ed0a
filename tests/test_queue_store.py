"""The stores' work queues (claim with a lease, exactly one claimer) and atomic document updates."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.storage import open_store
from mockserver.store import Store

KINDS = ["memory", "sqlite", "redis"]


def _spec(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "redis":
        url: str = request.getfixturevalue("redis_server").fresh_url()
        return url
    return "memory" if kind == "memory" else f"sqlite:{tmp_path / 'state.sqlite'}"


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(_spec(request.param, request, tmp_path))
    try:
        yield opened
    finally:
        opened.close()


def test_a_claimed_entry_is_hidden_until_its_lease_ends(store: Store) -> None:
    first = store.queue_push("q", {"n": 1}, 100.0)
    second = store.queue_push("q", {"n": 2}, 50.0)
    assert store.queue_claim("q", now=10.0, lease=30.0) == []  # nothing due yet
    assert store.queue_claim("q", now=120.0, lease=30.0) == [(second, {"n": 2})]  # due first
    assert store.queue_claim("q", now=120.0, lease=30.0) == [(first, {"n": 1})]
    assert store.queue_claim("q", now=149.0, lease=30.0) == []  # both leased
    # The claimer of `second` died: its lease ran out at 150, so it is claimed again.
    assert store.queue_claim("q", now=150.0, lease=30.0, limit=5) == [
        (first, {"n": 1}),
        (second, {"n": 2}),
    ]


def test_ack_removes_and_retry_puts_back_changed(store: Store) -> None:
    item = store.queue_push("q", {"attempt": 1}, 0.0)
    other = store.queue_push("other", {"x": 1}, 0.0)
    [(claimed, _)] = store.queue_claim("q", now=1.0, lease=60.0)
    assert claimed == item
    assert store.queue_retry("q", item, {"attempt": 2}, 5.0)
    assert store.queue_claim("q", now=4.0, lease=60.0) == []
    assert store.queue_claim("q", now=5.0, lease=60.0) == [(item, {"attempt": 2})]
    assert store.queue_ack("q", item)
    assert not store.queue_ack("q", item)
    assert not store.queue_retry("q", item, {}, 0.0)
    assert store.queue_items("q") == []
    assert [(i, e) for i, _, e in store.queue_items("other")] == [(other, {"x": 1})]
    store.clear()
    assert store.queue_items("other") == []


def test_concurrent_claims_in_threads_get_each_entry_once(store: Store) -> None:
    pushed = {store.queue_push("q", {"n": n}, 0.0) for n in range(60)}
    got: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def worker() -> None:
        barrier.wait()
        while claimed := store.queue_claim("q", now=1.0, lease=600.0, limit=2):
            with lock:
                got.extend(i for i, _ in claimed)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(got) == sorted(pushed)


def test_update_doc_loses_no_concurrent_update(store: Store) -> None:
    def add_one(current: object) -> dict[str, int]:
        n = current["n"] if isinstance(current, dict) else 0
        return {"n": n + 1}

    threads = [
        threading.Thread(target=lambda: [store.update_doc("d", add_one) for _ in range(20)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert store.read_doc("d") == {"n": 80}
    assert store.update_doc("d", lambda _: {"n": 0}) == {"n": 0}


_CLAIMER = """
import json, sys, time
from mockserver.storage import open_store
store = open_store(sys.argv[1])
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()  # both processes start claiming together
got = []
while claimed := store.queue_claim("q", now=1.0, lease=600.0):
    got.extend(i for i, _ in claimed)
    time.sleep(0.002)  # a sender's pace: the other process gets its turns, even on a busy machine
print(json.dumps(got))
store.close()
"""


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_processes_competing_get_each_entry_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    spec = _spec(kind, request, tmp_path)
    store = open_store(spec)
    pushed = {store.queue_push("q", {"n": n}, 0.0) for n in range(200)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    claims = [json.loads(proc.communicate(timeout=60)[0]) for proc in procs]
    store.close()
    assert all(claims), "both processes claimed some entries"
    assert sorted(claims[0] + claims[1]) == sorted(pushed)
