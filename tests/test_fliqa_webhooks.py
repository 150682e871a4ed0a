"""Fliqa webhooks end to end over real HTTP (issue 19 point 1, FACTS-2 §2.1): the browser
journey's approval reaches a loopback receiver as the bare consent JSON, signed with
`X-Fliqa-Signature`; a receiver that fails once gets the event again; expiry by the clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from flask import Flask
from test_sandbox_fliqa import browser, received_consent

from mockserver import SimClock, create_app
from mockserver.providers.fliqa.hooks import FINAL, events
from mockserver.providers.fliqa.signature import HEADER, verify
from mockserver.webhooks import Hub
from mockserver.webhooks.receiver import Received, WebhookReceiver

__all__ = ["browser"]  # the Chromium fixture

SECRET = "fliqa-hook-secret"
TENANT = "tenant-a"  # the Api-Key received_consent signs in with


@pytest.fixture
def served(clock: SimClock) -> Iterator[tuple[Flask, str]]:
    from werkzeug.serving import make_server

    app = create_app(["fliqa"], strict=True, clock=clock)
    hub: Hub = app.extensions["mockserver.webhooks"]
    hub.tick = 0.05
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    httpx.post(f"{base}/__admin/webhooks/settings", json={"backoff": 0.05, "timeout": 2})
    try:
        yield app, base
    finally:
        hub.stop()
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def base(served: tuple[Flask, str]) -> str:
    return served[1]


@pytest.fixture
def api(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{base}/fliqa", timeout=10) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.stop()


def register(base: str, url: str, tenant: str = TENANT) -> None:
    body = {"provider": "fliqa", "tenant": tenant, "url": url, "secret": SECRET}
    assert httpx.post(f"{base}/__admin/webhooks", json=body).status_code == 201


def statuses(arrived: list[Received]) -> list[str]:
    return [r.json["status"] for r in arrived]


def check_signed(arrived: Received, url: str) -> None:
    """As a receiver written to Fliqa's examples checks it: t=<epoch>,v=<64 hex> over
    "{t}.{hookUrl}.{rawBody}" with the hook's secret."""
    header = arrived.header(HEADER)
    assert header is not None and header.startswith("t=")
    assert len(header.split(",")) == 2 and len(header.split("v=")[1]) == 64
    assert verify(header, arrived.body, url, SECRET)
    assert not verify(header, arrived.body, url, "another-secret")
    assert not verify(header, arrived.body + b" ", url, SECRET)


@pytest.mark.browser
def test_a_consent_approved_in_the_browser_is_delivered_signed(
    base: str, api: httpx.Client, browser: Any, receiver: WebhookReceiver
) -> None:
    register(base, receiver.url)
    receiver.fail(1)  # the first delivery (the created event) is answered 500, then retried
    consent = received_consent(api, base)
    link = next(i for i in consent["consentData"] if i["name"] == "redirect")["value"]
    page = browser.new_page()
    page.goto(link)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "All done"
    page.close()
    arrived = receiver.wait_for(3, timeout=10)
    (failed,) = [r for r in arrived if r.status == 500]
    delivered = [r for r in arrived if r.status == 200]
    assert statuses([failed]) == ["initiated"] and sorted(statuses(delivered)) == [
        "initiated",
        "valid",
    ]
    assert failed.body in [r.body for r in delivered]  # the same event again, byte for byte
    for delivery in arrived:
        check_signed(delivery, receiver.url)
    shown = api.get(f"/service/consent/{consent['consentId']}").json()
    assert arrived[-1].json == shown  # the bare consent, as the API renders it
    assert "consentData" not in arrived[-1].json and "event" not in arrived[-1].json


def test_statuses_reached_and_expiry_are_delivered_but_not_steps(
    base: str, receiver: WebhookReceiver
) -> None:
    register(base, receiver.url)
    register(base, receiver.url + "-other", tenant="tenant-b")
    created = httpx.post(
        f"{base}/__admin/fliqa/consents",
        json={"tenant": TENANT, "status": "initiated", "validUntil": "2026-01-06T09:30:00Z"},
    ).json()
    consent_id = created["consentId"]
    for status in ("started", "received", "valid"):  # started and received are no final status
        moved = httpx.post(
            f"{base}/__admin/fliqa/consents/{consent_id}/status", json={"status": status}
        )
        assert moved.status_code == 200, moved.text
    receiver.wait_for(2, timeout=10)
    httpx.post(f"{base}/__admin/clock", json={"advance": "P1D"})  # past validUntil: expired
    arrived = receiver.wait_for(3, timeout=10)
    time.sleep(0.3)  # nothing more comes
    assert statuses(receiver.received) == ["initiated", "valid", "expired"]
    assert all(r.path == "/hook" for r in receiver.received)  # not tenant-b's hook
    check_signed(arrived[-1], receiver.url)


@pytest.mark.parametrize("status", FINAL)
def test_each_final_status_is_one_event_with_the_bare_consent(status: str) -> None:
    before = {"consentId": "c1", "status": "received", "_bankKey": "k", "consentData": []}
    after = {**before, "status": status}
    (event,) = events(before, after, datetime.now(UTC))
    assert event.type == f"consent.{status}"
    assert event.payload == {"consentId": "c1", "status": status}  # no private field, no items


def test_creation_is_an_event_and_steps_or_rewrites_are_not() -> None:
    made = {"consentId": "c1", "status": "initiated"}
    now = datetime.now(UTC)
    assert [e.type for e in events(None, made, now)] == ["consent.created"]
    for step in ("started", "received", "partially_authorised"):
        assert events(made, {**made, "status": step}, now) == []
    valid = {**made, "status": "valid"}
    assert events(valid, {**valid, "modified": "later"}, now) == []
    assert events(valid, None, now) == []
