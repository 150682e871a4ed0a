"""Garbage collection under load: no reference cycle per request, and frozen survivors."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder

from mockserver import create_app
from mockserver.heap import freeze_survivors, stop_freezing_survivors
from mockserver.stores.memory import MemoryStore

from conftest import api1_headers


@pytest.fixture
def saving_garbage() -> Iterator[list[object]]:
    """Cyclic garbage kept in gc.garbage instead of freed, so a test can count it."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def _call(app: Flask, method: str, path: str, body: bytes | None = None) -> str:
    """One WSGI call, as a server makes it (no test client, whose own objects are cyclic)."""
    headers = [*api1_headers().items(), ("Content-Type", "application/json")]
    environ = EnvironBuilder(path=path, method=method, headers=headers, data=body).get_environ()
    status: list[str] = []

    def start_response(line: str, _headers: Any, _exc: Any = None) -> Any:
        status.append(line)

    chunks = app.wsgi_app(environ, start_response)
    b"".join(chunks)
    return status[0]


def test_a_request_on_the_fast_path_leaves_no_reference_cycle(
    saving_garbage: list[object],
) -> None:
    """The request and its environ pointed at each other: each request was garbage that
    only the collector could free (a collection every few dozen requests)."""
    app = create_app(["api1"], fixtures=None)
    for round in range(7):
        if round == 2:  # the first rounds import and build what the others reuse
            gc.collect()
            saving_garbage.clear()
        assert _call(app, "POST", "/api1/api/v1/consents", b'{"name": "A"}').startswith("201")
        assert _call(app, "GET", "/api1/api/v1/consents?Count=5").startswith("200")
        assert _call(app, "GET", "/api1/api/v1/consents/nope").startswith(("400", "404"))
    gc.collect()
    # Only the engine's own objects are looked for: a library's one-time set-up (attrs
    # classes that jsonschema makes on first use) may leave cycles of its own.
    kinds = {type(found).__name__ for found in saving_garbage}
    assert not kinds & {"Request", "EnvironHeaders", "Exchange", "Context", "BytesIO"}, kinds


class _Node:
    def __init__(self) -> None:
        self.other: object = None


def test_survivors_of_a_full_collection_are_frozen_and_still_freed_when_dropped() -> None:
    kept = _Node()
    probe = weakref.ref(kept)
    before = gc.get_freeze_count()
    freeze_survivors()
    freeze_survivors()  # idempotent: one callback
    try:
        gc.collect()
        assert gc.get_freeze_count() > before
        assert gc.callbacks.count(gc.callbacks[-1]) == 1
        del kept  # a frozen object without a cycle is freed by its reference count
        assert probe() is None
    finally:
        stop_freezing_survivors()
        gc.unfreeze()
    frozen = gc.get_freeze_count()
    gc.collect()
    assert gc.get_freeze_count() == frozen == 0


def test_the_served_app_freezes_the_survivors_of_full_collections() -> None:
    """`mockserver serve` freezes its heap once built (wsgi.freeze_heap, before the fork and
    in a spawned worker): survivors of each full collection are frozen from then on too, so
    full collections stay short as the memory store fills (create's p99 depended on it)."""
    from mockserver import heap, wsgi

    stop_freezing_survivors()
    try:
        wsgi.freeze_heap()
        assert heap._freeze_after_full in gc.callbacks
    finally:
        stop_freezing_survivors()
        gc.unfreeze()
    assert heap._freeze_after_full not in gc.callbacks


def _young_containers(at_least: int) -> list[tuple[str, int]]:
    """The containers of `at_least` items that a collection of any generation walks."""
    found = []
    for generation in range(3):
        for held in gc.get_objects(generation):
            if isinstance(held, (dict, list, set)) and len(held) >= at_least:
                found.append((type(held).__name__, len(held)))
    return found


def test_after_a_full_collection_no_index_of_the_store_is_walked_again() -> None:
    """A dict whose keys and values had all become untracked was untracked by each full
    collection and tracked again, as new, by the next insert: never frozen, it was walked by
    every collection, however young (the memory store's id → tenant index keyed by tuples;
    create's p99 grew from 4 to 30 ms as a served store filled to 370k consents)."""
    app = create_app(["api1"], fixtures=None)
    for _ in range(3000):
        assert _call(app, "POST", "/api1/api/v1/consents", b'{"name": "A"}').startswith("201")
    freeze_survivors()
    try:
        gc.collect()
        assert _call(app, "POST", "/api1/api/v1/consents", b'{"name": "A"}').startswith("201")
        assert not _young_containers(2500)
    finally:
        stop_freezing_survivors()
        gc.unfreeze()


def test_after_a_full_collection_the_stores_text_values_are_not_walked_again() -> None:
    """The same for the values a provider keeps (tokens, aliases, registries): stored as
    (text, instant) tuples, their dict was untracked by a full collection and walked again
    after the next write."""
    store = MemoryStore()
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    for n in range(3000):
        store.put_value("tokens", f"k{n}", f"tenant-{n}", expires if n % 2 else None)
    freeze_survivors()
    try:
        gc.collect()
        store.put_value("tokens", "new", "tenant", expires)
        assert not _young_containers(2500)
        assert store.get_value("tokens", "k1", expires - timedelta(1)) == "tenant-1"
        assert store.get_value("tokens", "k1", expires) is None  # expired at its instant
    finally:
        stop_freezing_survivors()
        gc.unfreeze()
