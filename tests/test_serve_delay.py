"""Delay faults under `mockserver serve`'s default settings: waited out without a thread."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from mockserver.testing import RunningServer, running_server

KEY = "sandbox-api1-key"
SLOW = 8  # delayed requests at once: more than the threads the old default had (4)
# Long enough that the fast requests sent meanwhile are all answered within it even on a loaded
# machine (2 s was not, once, with three full test runs on the two cores).
DELAY_MS = 3000


def h() -> dict[str, str]:
    return {"x-api-key": KEY, "x-correlation-id": str(uuid.uuid4())}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server(["--provider", "api1"]) as running:  # the default threads
        yield running


@pytest.fixture(autouse=True)
def _clean(server: RunningServer) -> None:
    server.admin.clear_faults()


def _hits(server: RunningServer, fault_id: int, used_up: int = -1) -> int:
    """Requests that drew the fault so far; `used_up` once its `times` are (it is gone)."""
    return int(next((f["hits"] for f in server.admin.faults() if f["id"] == fault_id), used_up))


def _wait_for_hits(server: RunningServer, fault_id: int, hits: int) -> None:
    """Until `hits` requests have drawn the fault (each then waits out its delay), `hits`
    being the fault's `times`."""
    deadline = time.monotonic() + 30
    while _hits(server, fault_id, hits) < hits:
        assert time.monotonic() < deadline, f"the fault was not drawn {hits} times"
        time.sleep(0.02)


def _timed(url: str, client: httpx.Client | None = None) -> tuple[int, float]:
    """The status of a GET (on `client`'s kept-alive connection if given), and when it was
    answered."""
    answer = (client or httpx).get(url, headers=h(), timeout=60)
    return answer.status_code, time.monotonic()


def test_delayed_requests_stall_no_other_request(server: RunningServer) -> None:
    """More delayed requests than the old default's threads, all waiting at once; meanwhile
    20 other requests are all answered, before any delayed one."""
    url = f"{server.url('api1')}/api/v1/consents"
    fault = server.admin.fault("api1", "getConsent", delay_ms=DELAY_MS, times=SLOW)
    with ThreadPoolExecutor(SLOW) as pool:
        began = time.monotonic()
        slow = [pool.submit(_timed, f"{url}/{uuid.uuid4()}") for _ in range(SLOW)]
        _wait_for_hits(server, fault, SLOW)
        with httpx.Client() as client:
            fast = [_timed(url, client) for _ in range(20)]
        answered = [future.result() for future in slow]
    assert all(status == 200 for status, _ in fast)
    assert all(status == 404 for status, _ in answered)  # unknown ids, after the delay
    assert max(at for _, at in fast) < min(at for _, at in answered)
    assert min(at for _, at in answered) - began >= DELAY_MS / 1000


def test_a_delayed_create_changes_nothing_before_its_delay(server: RunningServer) -> None:
    """The delay comes before the request is handled: until it has passed, the consent does
    not exist and the journal has no entry for it; then both, the entry timed from arrival."""
    url = f"{server.url('api1')}/api/v1/consents"
    name = f"Delayed {uuid.uuid4()}"
    fault = server.admin.fault("api1", "createConsent", delay_ms=1500, times=1)
    server.admin.clear_requests()
    with ThreadPoolExecutor(1) as pool:
        created = pool.submit(httpx.post, url, json={"name": name}, headers=h(), timeout=60)
        _wait_for_hits(server, fault, 1)
        listed = httpx.get(f"{url}?Count=100", headers=h()).json()["data"]
        assert name not in [c["name"] for c in listed]
        assert not server.admin.requests(operation="createConsent")
        assert created.result().status_code == 201
    listed = httpx.get(f"{url}?Count=100", headers=h()).json()["data"]
    assert [c["name"] for c in listed].count(name) == 1
    entries = server.admin.requests(operation="createConsent")
    assert len(entries) == 1 and entries[0]["status"] == 201
    assert entries[0]["durationMs"] >= 1500


def test_a_delayed_fault_is_drawn_once_and_answers_after_its_delay(
    server: RunningServer,
) -> None:
    """The request runs again after the wait; the fault it drew is not drawn a second time,
    and a delay for everyone then one for the tenant add up, each drawn once."""
    url = f"{server.url('api1')}/api/v1/consents"
    failing = server.admin.fault("api1", "listConsents", delay_ms=600, status=503, times=3)
    started = time.monotonic()
    assert httpx.get(url, headers=h(), timeout=60).status_code == 503
    assert time.monotonic() - started >= 0.6
    assert _hits(server, failing) == 1
    server.admin.clear_faults()
    everyone = server.admin.fault("api1", "listConsents", delay_ms=500, times=2)
    tenant = server.admin.fault("api1", "listConsents", delay_ms=500, tenant=KEY, times=2)
    started = time.monotonic()
    assert httpx.get(url, headers=h(), timeout=60).status_code == 200
    assert time.monotonic() - started >= 1.0
    assert (_hits(server, everyone), _hits(server, tenant)) == (1, 1)


def test_a_drop_after_a_delay_still_drops(server: RunningServer) -> None:
    server.admin.fault("api1", "listConsents", delay_ms=300, drop=True, times=1)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{server.url('api1')}/api/v1/consents", headers=h(), timeout=60)
    assert httpx.get(f"{server.url('api1')}/api/v1/consents", headers=h()).status_code == 200


def test_more_threads_still_serve_and_delays_hold_none_of_them() -> None:
    """`--threads N`: every request on N threads; a delay still waits on the event loop, so
    N + 2 delayed requests leave the threads free for the others."""
    with running_server(["--provider", "api1", "--threads", "2"]) as served:
        url = f"{served.url('api1')}/api/v1/consents"
        fault = served.admin.fault("api1", "getConsent", delay_ms=DELAY_MS, times=4)
        with ThreadPoolExecutor(4) as pool:
            slow = [pool.submit(_timed, f"{url}/{uuid.uuid4()}") for _ in range(4)]
            _wait_for_hits(served, fault, 4)
            with httpx.Client() as client:
                fast = [_timed(url, client) for _ in range(5)]
            answered = [future.result() for future in slow]
        served.admin.fault("api1", "listConsents", drop=True, times=1)
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, headers=h(), timeout=60)
    assert all(status == 200 for status, _ in fast)
    assert max(at for _, at in fast) < min(at for _, at in answered)
