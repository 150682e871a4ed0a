"""Concurrent resets, on every store and across worker processes, leave exactly the fixtures."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from mockserver import create_app
from mockserver.testing import running_server

KINDS = ["memory", "sqlite", "redis"]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(params=KINDS)
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    kind = request.param
    if kind == "redis":
        spec = request.getfixturevalue("redis_server").fresh_url()
    else:
        spec = "memory" if kind == "memory" else f"sqlite:{tmp_path / 'state.sqlite'}"
    app = create_app(store=spec, fixtures=FIXTURES)
    try:
        yield app
    finally:
        app.extensions["mockserver"].store.close()


def test_ten_concurrent_resets_leave_every_fixture(seeded: Flask) -> None:
    sim = seeded.extensions["mockserver"]
    expected = sim.store.count()
    assert expected > 40
    start = threading.Barrier(10)
    errors: list[BaseException] = []

    def reset() -> None:
        start.wait()
        try:
            sim.reset()
        except BaseException as exc:  # a failure in a thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=reset) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sim.store.count() == expected


@pytest.mark.slow
def test_concurrent_resets_over_two_sqlite_workers(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'shared.sqlite'}"
    with running_server(["--workers", "2", "--store", store]) as server:
        expected = server.admin.health()["consents"]
        statuses: list[int] = []
        lock = threading.Lock()
        start = threading.Barrier(10)

        def reset() -> None:
            start.wait()
            request = urllib.request.Request(
                f"{server.base_url}/__admin/reset", data=b"{}", method="POST"
            )
            request.add_header("Content-Type", "application/json")
            with urllib.request.urlopen(request, timeout=60) as answer:
                with lock:
                    statuses.append(answer.status)

        threads = [threading.Thread(target=reset) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        assert statuses == [200] * 10
        assert server.admin.health()["consents"] == expected
