"""`mockserver serve` as a real subprocess on a free port, spoken to over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

ROOT = Path(__file__).parents[1]
LOGS: dict[int, IO[str]] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    command = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), *args]
    log = tempfile.TemporaryFile("w+")
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    LOGS[process.pid] = log
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{output(process)}")
        try:
            if httpx.get(f"{base}/__admin/health", timeout=0.5).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.05)
    stop(process)
    raise AssertionError("serve did not answer within 20 s")


def output(process: subprocess.Popen[str]) -> str:
    log = LOGS[process.pid]
    log.seek(0)
    return log.read()


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    LOGS.pop(process.pid).close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    process, base = start()
    try:
        yield base
    finally:
        stop(process)


def test_serves_seeded_api1_over_http(server: str) -> None:
    headers = {"x-api-key": "sandbox-api1-key", "x-correlation-id": str(uuid.uuid4())}
    listed = httpx.get(f"{server}/api1/api/v1/consents", headers=headers)
    assert listed.status_code == 200
    assert listed.json()["meta"]["totalCount"] >= 5
    created = httpx.post(
        f"{server}/api1/api/v1/consents", json={"name": "Over HTTP"}, headers=headers
    )
    assert created.status_code == 201
    location = created.headers["location"]
    assert location.startswith(f"{server}/api1/api/v1/consents/")
    fetched = httpx.get(location, headers=headers)
    assert fetched.json()["name"] == "Over HTTP"
    assert fetched.headers["etag"] == created.headers["etag"]


def test_the_server_is_not_flask_development_server(server: str) -> None:
    response = httpx.get(f"{server}/__admin/health")
    assert "Werkzeug" not in response.headers.get("server", "")


def test_fixtures_none_starts_empty() -> None:
    process, base = start("--fixtures", "none", "--provider", "api1")
    try:
        headers = {"x-api-key": "sandbox-api1-key", "x-correlation-id": str(uuid.uuid4())}
        listed = httpx.get(f"{base}/api1/api/v1/consents", headers=headers)
        assert listed.json()["meta"]["totalCount"] == 0
    finally:
        stop(process)


def _refused(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(free_port()), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            k: v for k, v in {**os.environ, **(env or {})}.items() if k != "MOCKSERVER_ADMIN_TOKEN"
        },
    )
    assert result.returncode == 2, result.stderr
    return result.stderr


def test_several_workers_on_the_memory_store_are_refused() -> None:
    assert "memory store lives inside one process" in _refused("--workers", "2")


def test_a_public_host_needs_an_admin_token() -> None:
    assert "admin token" in _refused("--host", "0.0.0.0")


def test_a_bad_fixture_fails_at_start_with_file_and_path(tmp_path: Path) -> None:
    (tmp_path / "api1.yaml").write_text(
        "provider: api1\ntenants:\n  - tenant: t\n    consents:\n      - status: SLEEPING\n"
    )
    message = _refused("--fixtures", str(tmp_path), "--provider", "api1")
    assert f"{tmp_path / 'api1.yaml'}: tenants[0].consents[0]: status 'SLEEPING'" in message
