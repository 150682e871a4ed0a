"""Shared fixtures: a fresh strict simulator per test, and request helpers."""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import SimClock, create_app
from mockserver.app import Simulator

# Parsed specs are cached per run, not in the user's ~/.cache (servers the tests start inherit
# it); the folder is deleted when this test process ends.
if "MOCKSERVER_CACHE_DIR" not in os.environ:
    _SPEC_CACHE = tempfile.mkdtemp(prefix="mockserver-cache-")
    os.environ["MOCKSERVER_CACHE_DIR"] = _SPEC_CACHE
    atexit.register(shutil.rmtree, _SPEC_CACHE, ignore_errors=True)


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


class RedisServer:
    """A private `redis-server` on a free loopback port; each test takes a database of its own."""

    DATABASES = 64

    def __init__(self, port: int, process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.process = process
        self._next = itertools.count(1)

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def fresh_url(self) -> str:
        """The URL of a database nobody else uses now, emptied first."""
        import redis

        db = next(self._next) % self.DATABASES
        client = redis.Redis(host="127.0.0.1", port=self.port, db=db)
        try:
            client.flushdb()
        finally:
            client.close()
        return self.url(db)


def _start_redis(binary: str, folder: Path) -> RedisServer:
    import redis

    from mockserver.testing import free_port

    for _ in range(5):  # another process may take the free port before redis-server binds it
        port = free_port()
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--databases",
                str(RedisServer.DATABASES),
                "--dir",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        try:
            deadline = time.monotonic() + 10
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    if client.ping():
                        return RedisServer(port, process)
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        process.kill()
        process.wait(5)
    raise RuntimeError(f"{binary} did not start on a free loopback port")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for the whole session (the test command installs the Debian package)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(
            "redis-server is not installed (Debian package redis-server; ./dev test installs it)"
        )
    pytest.importorskip("redis", reason="the redis package is missing: pip install -e '.[test]'")
    server = _start_redis(binary, tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(5)
