"""Writes that race a delete, on every store: a provider's own 404/412, never a 500."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from mockserver import create_app
from mockserver.store import RecordNotFound, Store

from conftest import api1_headers
from tests_helpers import api1_create

KINDS = ["memory", "sqlite", "redis"]


@pytest.fixture(params=KINDS)
def shared_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    kind = request.param
    if kind == "redis":
        spec = request.getfixturevalue("redis_server").fresh_url()
    else:
        spec = "memory" if kind == "memory" else f"sqlite:{tmp_path / 'state.sqlite'}"
    app = create_app(["api1"], store=spec, strict=True)
    try:
        yield app
    finally:
        app.extensions["mockserver"].store.close()


def test_a_patch_whose_record_vanishes_before_its_write_is_the_providers_404(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(["api1"], strict=True)
    client = app.test_client()
    consent_id, etag = api1_create(client)
    store: Store = app.extensions["mockserver"].store
    replace = store.replace

    def deleted_first(*args: Any, **kwargs: Any) -> Any:
        # The DELETE lands between the handler's read and its write.
        store.delete("api1", "tenant-a", consent_id)
        monkeypatch.setattr(store, "replace", replace)
        raise RecordNotFound(consent_id)

    monkeypatch.setattr(store, "replace", deleted_first)
    answer = client.patch(
        f"/api1/api/v1/consents/{consent_id}",
        json={"name": "Renamed"},
        headers=api1_headers(**{"If-Match": etag}),
    )
    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"
    assert answer.json is not None and consent_id in answer.json["detail"]


def _race(app: Flask, rounds: int) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()
    client = app.test_client()
    for _ in range(rounds):
        consent_id, etag = api1_create(client)
        url = f"/api1/api/v1/consents/{consent_id}"
        start = threading.Barrier(2)

        def patch(url: str = url, etag: str = etag, start: threading.Barrier = start) -> None:
            start.wait()
            answer = app.test_client().patch(
                url, json={"name": "Renamed"}, headers=api1_headers(**{"If-Match": etag})
            )
            with lock:
                statuses.append(answer.status_code)

        def delete(url: str = url, start: threading.Barrier = start) -> None:
            start.wait()
            answer = app.test_client().delete(url, headers=api1_headers())
            with lock:
                statuses.append(answer.status_code)

        threads = [threading.Thread(target=patch), threading.Thread(target=delete)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    return statuses


def test_patch_racing_delete_never_answers_500(shared_app: Flask) -> None:
    statuses = _race(shared_app, 40)
    assert len(statuses) == 80
    assert set(statuses) <= {204, 404, 412}, statuses
    assert statuses.count(204) >= 40  # every DELETE succeeds; a PATCH may win first
    journal = shared_app.extensions["mockserver"].journal.entries(status=500)
    assert journal == []


def test_a_journal_failure_does_not_turn_a_committed_write_into_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(["api1"], strict=True)
    sim = app.extensions["mockserver"]

    def broken(entry: dict[str, Any]) -> dict[str, Any]:
        raise OSError("database or disk is full")

    monkeypatch.setattr(sim.journal, "record", broken)
    created = app.test_client().post(
        "/api1/api/v1/consents", json={"name": "Acme"}, headers=api1_headers()
    )
    assert created.status_code == 201
    assert created.json is not None
    assert sim.store.get("api1", "tenant-a", created.json["id"]) is not None
    assert "journal entry for api1 createConsent lost" in capsys.readouterr().err
