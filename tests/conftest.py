"""Shared fixtures: a fresh strict simulator per test, and request helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import SimClock, create_app
from mockserver.app import Simulator


class FixedSource:
    """A wall clock that stands still, so tests control time entirely."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self, tenant: str | None = None) -> datetime:
        return self.at


T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> SimClock:
    return SimClock(source=FixedSource(T0))


@pytest.fixture
def app(clock: SimClock) -> Iterator[Flask]:
    application = create_app(["api1"], strict=True, clock=clock)
    application.testing = True
    yield application


@pytest.fixture
def sim(app: Flask) -> Simulator:
    simulator: Simulator = app.extensions["mockserver"]
    return simulator


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def api1_headers(key: str = "tenant-a", **extra: str) -> dict[str, str]:
    return {"x-api-key": key, "x-correlation-id": str(uuid.uuid4()), **extra}
