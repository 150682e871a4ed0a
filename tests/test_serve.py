"""`mockserver serve` as a real subprocess on a free port, spoken to over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mockserver.testing import AdminError, RunningServer, free_port, running_server, start_server

ROOT = Path(__file__).parents[1]
HEADERS = {"x-api-key": "sandbox-api1-key"}


def h() -> dict[str, str]:
    return {**HEADERS, "x-correlation-id": str(uuid.uuid4())}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server() as running:
        yield running


def test_serves_seeded_api1_over_http(server: RunningServer) -> None:
    listed = httpx.get(f"{server.url('api1')}/api/v1/consents", headers=h())
    assert listed.status_code == 200
    assert listed.json()["meta"]["totalCount"] >= 5
    created = httpx.post(
        f"{server.url('api1')}/api/v1/consents", json={"name": "Over HTTP"}, headers=h()
    )
    assert created.status_code == 201
    location = created.headers["location"]
    assert location.startswith(f"{server.base_url}/api1/api/v1/consents/")
    fetched = httpx.get(location, headers=h())
    assert fetched.json()["name"] == "Over HTTP"
    assert fetched.headers["etag"] == created.headers["etag"]


def test_the_server_is_not_flask_development_server(server: RunningServer) -> None:
    response = httpx.get(f"{server.base_url}/__admin/health")
    assert "Werkzeug" not in response.headers.get("server", "")


def test_drop_fault_breaks_the_connection(server: RunningServer) -> None:
    server.admin.fault("api1", "listConsents", drop=True, times=1)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{server.url('api1')}/api/v1/consents", headers=h())
    assert httpx.get(f"{server.url('api1')}/api/v1/consents", headers=h()).status_code == 200


def test_a_delayed_request_does_not_stall_the_others(server: RunningServer) -> None:
    server.admin.fault("api1", "getConsent", delay_ms=1500, times=1)
    url = f"{server.url('api1')}/api/v1/consents"
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(httpx.get, f"{url}/{uuid.uuid4()}", headers=h(), timeout=10)
        time.sleep(0.2)
        started = time.perf_counter()
        fast = httpx.get(url, headers=h())
        fast_seconds = time.perf_counter() - started
        assert slow.result().status_code == 404
    assert fast.status_code == 200 and fast_seconds < 1.0


def test_fixtures_none_starts_empty() -> None:
    with running_server(["--fixtures", "none", "--provider", "api1"]) as empty:
        listed = httpx.get(f"{empty.url('api1')}/api/v1/consents", headers=h())
        assert listed.json()["meta"]["totalCount"] == 0


def test_admin_token_guards_the_control_plane_over_http() -> None:
    with running_server(["--provider", "api1", "--admin-token", "t0ken"]) as guarded:
        assert httpx.get(f"{guarded.base_url}/__admin/health").status_code == 401
        assert guarded.admin.health()["status"] == "ok"


def _refused(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MOCKSERVER_ADMIN_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(free_port()), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
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


def test_start_server_reports_a_failed_start() -> None:
    with pytest.raises(RuntimeError, match="exited with 2"):
        start_server(["--workers", "3"])


def test_admin_client_raises_with_the_reason(server: RunningServer) -> None:
    with pytest.raises(AdminError) as raised:
        server.admin.create_consent("api1", "SLEEPING", tenant="x")
    assert raised.value.status == 400 and "SLEEPING" in str(raised.value)
