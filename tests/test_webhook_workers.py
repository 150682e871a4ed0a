"""Webhooks with two worker processes on one SQLite store: each event delivered once, by one
worker, and a hook registered through one worker serves them all."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.testing import RunningServer, running_server
from mockserver.webhooks import GENERIC_HEADER, generic_verify
from mockserver.webhooks.receiver import WebhookReceiver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    path = tmp_path_factory.mktemp("hooks") / "shared.sqlite"
    args = ["--provider", "api1", "--workers", "2", "--store", f"sqlite:{path}"]
    with running_server([*args, "--fixtures", "none"]) as running:
        yield running


def test_each_event_is_delivered_once_by_one_of_two_workers(
    server: RunningServer, tmp_path: Path
) -> None:
    receiver = WebhookReceiver()
    try:
        admin = server.admin
        hook = admin.register_webhook("api1", receiver.url, "worker-secret", tenant="w")
        events = []
        for n in range(30):  # each on a new connection, so both workers take some
            response = httpx.post(
                f"{server.base_url}/__admin/webhooks/{hook['id']}/test",
                json={"data": {"n": n}},
                headers={"Connection": "close"},
            )
            assert response.status_code == 201
            events.append(response.json()["event"])
        arrived = receiver.wait_for(30, timeout=30)
        time.sleep(1.5)  # several sender rounds of both workers: a second delivery would show
        assert len(receiver.received) == 30
        counts = Counter(r.json["data"]["n"] for r in arrived)
        assert counts == Counter(range(30))
        assert all(generic_verify(r.header(GENERIC_HEADER) or "", r.body, "worker-secret")
                   for r in arrived)  # fmt: skip
        log = admin.webhook_deliveries(tenant="w")
        assert sorted(d["event"] for d in log) == sorted(events)
        assert all(d["outcome"] == "delivered" and d["attempt"] == 1 for d in log)
    finally:
        receiver.stop()


def test_a_receiver_down_briefly_gets_every_event_once_it_is_back(server: RunningServer) -> None:
    receiver = WebhookReceiver()
    try:
        admin = server.admin
        admin.webhook_settings(backoff=0.2, factor=1.5, attempts=8)
        hook = admin.register_webhook("api1", receiver.url, "s", tenant="down")
        receiver.fail(6, status=503)
        for n in range(3):
            admin.send_test_webhook(hook["id"], {"n": n})
        receiver.wait_for(9, timeout=30)
        time.sleep(1.0)
        ok = [r for r in receiver.received if r.status == 200]
        assert sorted(r.json["data"]["n"] for r in ok) == [0, 1, 2]
    finally:
        receiver.stop()
