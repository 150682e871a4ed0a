"""Several worker processes sharing the SQLite (or Redis) store, and crash safety under SIGKILL."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mockserver.testing import RunningServer, running_server, start_server

from conftest import RedisServer

pytestmark = pytest.mark.slow
KEY = "workers-key"


def h(**extra: str) -> dict[str, str]:
    return {"x-api-key": KEY, "x-correlation-id": str(uuid.uuid4()), **extra}


def fresh_get(url: str, **kwargs: object) -> httpx.Response:
    """A request on a new connection, so the kernel may hand it to any worker."""
    with httpx.Client(headers={"Connection": "close"}) as client:
        return client.get(url, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    path = tmp_path_factory.mktemp("workers") / "shared.sqlite"
    with running_server(
        ["--provider", "api1", "--workers", "2", "--store", f"sqlite:{path}", "--fixtures", "none"]
    ) as running:
        yield running


def pids(server: RunningServer, tries: int = 60) -> set[int]:
    seen: set[int] = set()
    for _ in range(tries):
        seen.add(fresh_get(f"{server.base_url}/__admin/health").json()["pid"])
        if len(seen) > 1:
            break
    return seen


def test_requests_reach_both_workers(server: RunningServer) -> None:
    assert len(pids(server)) == 2


def test_a_consent_made_through_one_worker_is_seen_by_all(server: RunningServer) -> None:
    url = f"{server.url('api1')}/api/v1/consents"
    for n in range(10):
        created = httpx.post(url, json={"name": f"c{n}"}, headers=h())
        assert created.status_code == 201
        for _ in range(4):
            seen = fresh_get(created.headers["location"], headers=h())
            assert seen.status_code == 200 and seen.headers["etag"] == created.headers["etag"]


def test_faults_and_clock_apply_to_every_worker(server: RunningServer) -> None:
    url = f"{server.url('api1')}/api/v1/consents"
    fault = server.admin.fault("api1", "listConsents", status=503)
    try:
        assert {fresh_get(url, headers=h()).status_code for _ in range(12)} == {503}
    finally:
        server.admin.call("DELETE", f"/faults/{fault}")
    assert {fresh_get(url, headers=h()).status_code for _ in range(6)} == {200}
    before = server.admin.clock()["now"]
    server.admin.call("POST", "/clock", {"advance": "P400D"})
    try:
        nows = {fresh_get(f"{server.base_url}/__admin/clock").json()["now"][:10] for _ in range(12)}
        assert len(nows) == 1 and nows != {before[:10]}
    finally:
        server.admin.call("POST", "/clock", {"reset": True})


def test_32_concurrent_conditional_patches_over_workers_give_one_204(
    server: RunningServer,
) -> None:
    url = f"{server.url('api1')}/api/v1/consents"
    created = httpx.post(url, json={"name": "race"}, headers=h())
    etag = created.headers["etag"]
    target = created.headers["location"]
    barrier = threading.Barrier(32)

    def patch(n: int) -> int:
        with httpx.Client(headers={"Connection": "close"}) as client:
            barrier.wait()
            return client.patch(
                target, json={"name": f"w{n}"}, headers=h(**{"If-Match": etag})
            ).status_code

    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(patch, range(32)))
    assert sorted(statuses) == [204] + [412] * 31
    final = httpx.get(target, headers=h())
    assert final.json()["name"].startswith("w") and final.headers["etag"] != etag


def test_if_match_star_patches_over_workers_all_succeed(server: RunningServer) -> None:
    """RFC 9110: `If-Match: *` holds while the consent exists, whichever version it is at;
    a write that meets a concurrent one is applied on top of it, not refused with 412."""
    url = f"{server.url('api1')}/api/v1/consents"
    created = httpx.post(url, json={"name": "star"}, headers=h())
    target = created.headers["location"]
    barrier = threading.Barrier(32)

    def patch(n: int) -> int:
        with httpx.Client(headers={"Connection": "close"}) as client:
            client.get(f"{server.base_url}/__admin/health")  # connected before the start
            barrier.wait()
            return client.patch(
                target, json={"name": f"s{n}"}, headers=h(**{"If-Match": "*"})
            ).status_code

    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(patch, range(32)))
    assert statuses == [204] * 32
    final = httpx.get(target, headers=h())
    assert final.headers["etag"].startswith('"33-')  # 32 writes on top of the create


def test_no_answered_create_is_lost_to_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite"
    args = ["--provider", "api1", "--store", f"sqlite:{path}", "--fixtures", "none"]
    server = start_server(args)
    url = f"{server.url('api1')}/api/v1/consents"
    answered: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                try:
                    response = client.post(url, json={"name": "crash"}, headers=h())
                except httpx.HTTPError:
                    return
                if response.status_code == 201:
                    with lock:
                        answered[response.headers["location"].rsplit("/", 1)[-1]] = (
                            response.headers["etag"]
                        )

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    os.killpg(server.process.pid, signal.SIGKILL)  # mid-load, no chance to flush or clean up
    server.process.wait(10)
    stop.set()
    for thread in threads:
        thread.join(10)
    server.log.close()
    assert len(answered) > 20, "the load did not get going"
    with running_server(args) as restarted:
        for consent_id, etag in answered.items():
            seen = httpx.get(f"{restarted.url('api1')}/api/v1/consents/{consent_id}", headers=h())
            assert seen.status_code == 200, consent_id
            assert seen.headers["etag"] == etag


def test_two_workers_share_consents_and_one_patch_wins_over_redis(
    redis_server: RedisServer,
) -> None:
    args = ["--provider", "api1", "--workers", "2", "--fixtures", "none"]
    with running_server([*args, "--store", redis_server.fresh_url()]) as server:
        assert len(pids(server)) == 2
        url = f"{server.url('api1')}/api/v1/consents"
        for n in range(5):
            created = httpx.post(url, json={"name": f"r{n}"}, headers=h())
            assert created.status_code == 201
            for _ in range(4):
                seen = fresh_get(created.headers["location"], headers=h())
                assert seen.status_code == 200 and seen.headers["etag"] == created.headers["etag"]
        fault = server.admin.fault("api1", "listConsents", status=503)
        assert {fresh_get(url, headers=h()).status_code for _ in range(8)} == {503}
        server.admin.call("DELETE", f"/faults/{fault}")

        created = httpx.post(url, json={"name": "race"}, headers=h())
        etag, target = created.headers["etag"], created.headers["location"]
        barrier = threading.Barrier(32)

        def patch(n: int) -> int:
            with httpx.Client(headers={"Connection": "close"}) as client:
                barrier.wait()
                return client.patch(
                    target, json={"name": f"w{n}"}, headers=h(**{"If-Match": etag})
                ).status_code

        with ThreadPoolExecutor(32) as pool:
            statuses = list(pool.map(patch, range(32)))
        assert sorted(statuses) == [204] + [412] * 31
        final = fresh_get(target, headers=h())
        assert final.json()["name"].startswith("w") and final.headers["etag"] != etag


def test_every_request_is_in_the_journal_whichever_worker_served_it(
    server: RunningServer,
) -> None:
    url = f"{server.url('api1')}/api/v1/consents"
    marks = [f"journal-{n}-{uuid.uuid4()}" for n in range(24)]
    served_by: set[int] = set()

    def request(mark: str) -> None:
        with httpx.Client(headers={"Connection": "close"}) as client:
            assert client.get(url, params={"Name": mark}, headers=h()).status_code == 200
            served_by.add(client.get(f"{server.base_url}/__admin/health").json()["pid"])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(request, marks))
    assert len(served_by) == 2  # both workers answered requests
    for _ in range(4):  # each read may go to either worker: each must see every entry
        with httpx.Client(headers={"Connection": "close"}) as client:
            entries = client.get(f"{server.base_url}/__admin/requests").json()["requests"]
        queries = {entry["query"] for entry in entries}
        assert all(f"Name={mark}" in queries for mark in marks)


def test_otps_sent_through_every_worker_all_reach_the_outbox(tmp_path: Path) -> None:
    path = tmp_path / "fliqa.sqlite"
    command = ["--provider", "fliqa", "--workers", "2", "--store", f"sqlite:{path}"]
    with running_server([*command, "--fixtures", "none"]) as fliqa:
        base = fliqa.url("fliqa")
        keys = {"Api-Key": "workers", "Api-Secret": "secret-workers"}
        token = httpx.get(f"{base}/service/auth/token/sandbox/acme", headers=keys)
        assert token.status_code == 200, token.text
        bearer = {"Authorization": f"Bearer {token.json()['accessToken']}"}
        phones = [f"+4366012345{n:02d}" for n in range(32)]
        barrier = threading.Barrier(16)

        def login(phone: str) -> int:
            with httpx.Client(headers={"Connection": "close"}) as client:
                client.get(f"{fliqa.base_url}/__admin/health")  # connected before the start
                barrier.wait()
                sent = client.post(f"{base}/account/login", json={"msisdn": phone}, headers=bearer)
                return sent.status_code

        with ThreadPoolExecutor(16) as pool:  # two waves of 16 logins sent at once
            assert set(pool.map(login, phones)) == {200}
        for _ in range(3):
            outbox = fresh_get(f"{fliqa.base_url}/__admin/fliqa/outbox").json()
            assert sorted(m["to"] for m in outbox["messages"]) == sorted(phones)
