"""Fliqa's short-lived state (list cursors, access tokens) expires by the simulated clock, is
collected from the store, and is bounded per Api-Key (issue 18 point 4), on memory and SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from test_fliqa import CONSENTS, admin_consent, advance, auth, error

from mockserver import SimClock, create_app
from mockserver.providers.fliqa import dialect, handlers
from mockserver.stores.memory import MemoryStore

from tests_helpers import json_of

Rows = Callable[[str], int]
Expiries = Callable[[str], list[bool]]


@pytest.fixture(params=["memory", "sqlite"])
def setup(
    request: pytest.FixtureRequest, clock: SimClock, tmp_path: Path
) -> Iterator[tuple[FlaskClient, Rows]]:
    """A Fliqa app on each store, and how many raw rows a namespace holds in it (expired ones
    included: what the store keeps, not what it answers)."""
    app, rows, _ = _app(request.param, clock, tmp_path)
    yield app.test_client(), rows
    app.extensions["mockserver"].store.close()


def _app(kind: str, clock: SimClock, tmp_path: Path) -> tuple[Flask, Rows, Expiries]:
    if kind == "memory":
        store = MemoryStore()
        app: Flask = create_app(["fliqa"], strict=True, clock=clock, store=store)

        def expiries(namespace: str) -> list[bool]:
            held = store._values.items()
            return [v.expires is not None for (ns, _), v in held if ns == namespace]

    else:
        path = tmp_path / "fliqa.sqlite"
        app = create_app(["fliqa"], strict=True, clock=clock, store=f"sqlite:{path}")

        def expiries(namespace: str) -> list[bool]:
            with sqlite3.connect(path) as db:
                query = "SELECT expires IS NOT NULL FROM kv WHERE ns=?"
                return [bool(row[0]) for row in db.execute(query, (namespace,))]

    app.testing = True
    return app, lambda namespace: len(expiries(namespace)), expiries


def first_cursor(client: FlaskClient, h: dict[str, str]) -> str:
    page = json_of(client.get(f"{CONSENTS}?limit=1", headers=h))
    cursor: str = page["metadata"]["next_cursor"]
    assert cursor
    return cursor


def test_a_cursor_past_its_hour_is_refused_and_gone(setup: tuple[FlaskClient, Rows]) -> None:
    client, rows = setup
    for _ in range(3):
        admin_consent(client)
    h = auth(client)
    cursor = first_cursor(client, h)
    advance(client, "PT59M", tenant="tenant-a")
    h = auth(client)  # the token of before has expired meanwhile
    assert client.get(f"{CONSENTS}?limit=1&cursor={cursor}", headers=h).status_code == 200
    assert rows("fliqa:cursor") == 2  # the first page's cursor and the second's
    advance(client, "PT1M", tenant="tenant-a")
    h = auth(client)
    refused = client.get(f"{CONSENTS}?limit=1&cursor={cursor}", headers=h)
    body = error(refused, 400, "invalid_parameter")
    assert body["errorMessage"] == f"Invalid cursor '{cursor}'"
    assert rows("fliqa:cursor") == 1  # the refused one is collected; the other expires unused


def test_cursors_are_bounded_per_api_key(
    setup: tuple[FlaskClient, Rows], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, rows = setup
    assert handlers.CURSORS_PER_KEY == 1000  # as documented
    monkeypatch.setattr(handlers.CURSORS, "per_tenant", 3)
    for tenant in ("tenant-a", "tenant-a", "tenant-b"):
        admin_consent(client, tenant=tenant)
    h, other = auth(client), auth(client, "tenant-b")
    issued = [first_cursor(client, h) for _ in range(5)]
    assert rows("fliqa:cursor") == 3
    retired = client.get(f"{CONSENTS}?limit=1&cursor={issued[0]}", headers=h)
    error(retired, 400, "invalid_parameter")
    assert client.get(f"{CONSENTS}?limit=1&cursor={issued[-1]}", headers=h).status_code == 200
    # another Api-Key cannot use (or retire) them
    error(client.get(f"{CONSENTS}?cursor={issued[-1]}", headers=other), 400, "invalid_parameter")


def test_an_expired_token_is_refused_and_gone(setup: tuple[FlaskClient, Rows]) -> None:
    client, rows = setup
    h = auth(client)
    assert rows("fliqa:token") == 1
    advance(client, "PT6M")
    error(client.get(CONSENTS, headers=h), 401, "unauthorized", "access_token_expired")
    assert rows("fliqa:token") == 0


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_tokens_and_cursors_are_stored_with_their_expiry(
    kind: str, clock: SimClock, tmp_path: Path
) -> None:
    """So a store that drops expired values (Redis: by its TTL) drops them unasked."""
    app, _, expiries = _app(kind, clock, tmp_path)
    client = app.test_client()
    admin_consent(client)
    admin_consent(client)
    first_cursor(client, auth(client))
    assert expiries("fliqa:token") == [True] and expiries("fliqa:cursor") == [True]
    app.extensions["mockserver"].store.close()


def test_tokens_are_bounded_per_api_key(
    setup: tuple[FlaskClient, Rows], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, rows = setup
    assert dialect.TOKENS_PER_KEY == 1000  # as documented
    monkeypatch.setattr(dialect.TOKENS, "per_tenant", 3)
    tokens = [auth(client) for _ in range(5)]
    other = auth(client, "tenant-b")
    assert rows("fliqa:token") == 4  # tenant-a's three newest, tenant-b's one
    error(client.get(CONSENTS, headers=tokens[0]), 401, "unauthorized", "access_token_expired")
    for live in (tokens[-1], other):
        assert client.get(CONSENTS, headers=live).status_code == 200
    forged = {"Authorization": tokens[-1]["Authorization"][:-4] + "AAAA"}
    error(client.get(CONSENTS, headers=forged), 401, "unauthorized", "access_token_expired")
    assert client.get(CONSENTS, headers=tokens[-1]).status_code == 200  # not hurt by the forgery
