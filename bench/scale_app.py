"""Seeded API.1 simulators for `bench/scale.py`: consents written straight through the Store.

`app_from_env` is a granian factory: it builds the same app as `mockserver serve --provider
api1 --fixtures none` and, for the memory store, seeds it in the worker process itself (the
memory store lives there). `seed_sqlite` fills a SQLite file the same way before a
`mockserver serve --store sqlite:PATH` starts on it.

Consent ids are deterministic, so the driver knows which to GET. Tenants: the first
`PER_TENANT` consents belong to the load's tenant (`bench-key`); with the `spread` shape each
further block of `PER_TENANT` belongs to another tenant (a shared team sandbox), with the
`one` shape every consent belongs to `bench-key`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from mockserver import create_app
from mockserver.behaviour import index_keys
from mockserver.providers.api1 import PROVIDER
from mockserver.providers.api1.consent import move, new_consent
from mockserver.stores.sqlite import SqliteStore
from mockserver.wsgi import collector_paused, freeze_heap

KEY = "bench-key"
PER_TENANT = 100
STATUSES = ("CREATED", "ACCEPTED", "REVOKED", "INACTIVE")


def consent_id(n: int) -> str:
    return str(uuid.UUID(int=n + 1, version=4))


def consents(size: int, shape: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(tenant, id, stored data) for `size` consents, a quarter in each status."""
    now = datetime.now(UTC) - timedelta(hours=1)
    for n in range(size):
        tenant = KEY if shape == "one" or n < PER_TENANT else f"tenant-{n // PER_TENANT:06d}"
        cid = consent_id(n)
        data = new_consent(cid, f"Company {n}", now)
        status = STATUSES[n % 4]
        if status == "INACTIVE":
            move(data, "ACCEPTED", now, "fortnox")
        if status != "CREATED":
            move(data, status, now, "fortnox")
        yield tenant, cid, data


def seed_sqlite(path: str, size: int, shape: str) -> None:
    """Rows as SqliteStore.insert writes them, in one transaction (a million inserts, one
    commit each, would take minutes)."""
    store = SqliteStore(path)
    keys = index_keys(PROVIDER)
    try:
        with store._write() as db:  # the store's own connection and schema
            db.executemany(
                "INSERT INTO records (provider, id, tenant, version, data, status, ord, deadline)"
                " VALUES (?,?,?,1,?,?,?,?)",
                (
                    ("api1", cid, tenant, json.dumps(data, separators=(",", ":")), *keys(data))
                    for tenant, cid, data in consents(size, shape)
                ),
            )
    finally:
        store.close()


def app_from_env() -> Flask:
    """The app for one granian worker; SCALE_SIZE consents seeded into its memory store."""
    with collector_paused():  # as `mockserver serve` builds and seeds, then freezes
        app = create_app(["api1"], fixtures=None, store=os.environ.get("SCALE_STORE", "memory"))
        store = app.extensions["mockserver"].store
        for tenant, cid, data in consents(
            int(os.environ.get("SCALE_SIZE", "0")), os.environ.get("SCALE_SHAPE", "spread")
        ):
            store.insert("api1", tenant, cid, data)
        freeze_heap()
    return app
