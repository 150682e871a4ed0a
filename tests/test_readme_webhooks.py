"""The README's receiver-side webhook snippets verify what the simulator really sends.

Each ```python block of the README's Webhooks section runs as a reader would paste it, and its
check is applied to real deliveries over HTTP: it accepts them, and refuses a changed body or
another secret.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver import SimClock, create_app
from mockserver.webhooks import Hub
from mockserver.webhooks.receiver import WebhookReceiver

README = Path(__file__).resolve().parents[1] / "README.md"


def snippet(provider: str) -> dict[str, Any]:
    """The names defined by the python block under `### <provider>` in the Webhooks section."""
    text = README.read_text()
    section = text[text.index("## Webhooks\n") : text.index("## Dashboard\n")]
    part = section.split(f"### {provider}\n", 1)[1].split("\n### ", 1)[0]
    found = re.search(r"```python\n(.*?)```", part, re.S)
    assert found is not None, f"no python snippet for {provider}"
    names: dict[str, Any] = {}
    exec(compile(found.group(1), f"README {provider}", "exec"), names)  # noqa: S102
    return names


@pytest.fixture
def base(clock: SimClock) -> Iterator[str]:
    from werkzeug.serving import make_server

    app = create_app(["fliqa", "yapily", "atto"], strict=True, clock=clock)
    hub: Hub = app.extensions["mockserver.webhooks"]
    hub.tick = 0.05
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    httpx.post(f"{url}/__admin/webhooks/settings", json={"backoff": 0.05, "timeout": 2})
    try:
        yield url
    finally:
        hub.stop()
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.stop()


def created(base: str, provider: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{base}/__admin/{provider}/consents", json=body)
    assert response.status_code == 201, response.text
    consent: dict[str, Any] = response.json()
    return consent


def test_the_fliqa_snippet_verifies_a_delivery(base: str, receiver: WebhookReceiver) -> None:
    ok: Callable[[str, bytes, str, str], bool] = snippet("Fliqa")["fliqa_signature_ok"]
    hook = {"provider": "fliqa", "tenant": "t-1", "url": receiver.url, "secret": "s3cret"}
    assert httpx.post(f"{base}/__admin/webhooks", json=hook).status_code == 201
    created(base, "fliqa", tenant="t-1", status="initiated")
    [arrived] = receiver.wait_for(1)
    header = arrived.header("X-Fliqa-Signature") or ""
    assert ok(header, arrived.body, receiver.url, "s3cret")
    assert not ok(header, arrived.body + b" ", receiver.url, "s3cret")
    assert not ok(header, arrived.body, receiver.url, "another")
    assert not ok(header, arrived.body, receiver.url + "x", "s3cret")


def test_the_yapily_snippet_verifies_a_delivery(base: str, receiver: WebhookReceiver) -> None:
    ok: Callable[[str, bytes, str], bool] = snippet("Yapily")["yapily_signature_ok"]
    auth = ("app-r", "secret-r")
    registration = {
        "applicationId": "9c1e2b5e-1f7a-4c47-9a8e-2a3c0f6b1d11",
        "categories": ["consent.status.authorized"],
        "callbackUrl": {"main": {"url": receiver.url}},
    }
    answer = httpx.post(f"{base}/yapily/webhook/events", json=registration, auth=auth)
    assert answer.status_code == 201, answer.text
    secret = answer.json()["data"]["webhookSecret"]
    consent = created(base, "yapily", tenant="app-r", status="AWAITING_AUTHORIZATION")
    approve = f"{base}/__admin/yapily/consents/{consent['id']}/approve"
    assert httpx.post(approve, json={}).status_code == 200
    [arrived] = receiver.wait_for(1)
    assert consent["id"] in arrived.body.decode()
    header = arrived.header("X-Yapily-Signature") or ""
    assert ok(header, arrived.body, secret)
    assert not ok(header, arrived.body.replace(b"AUTHORIZED", b"REVOKED"), secret)
    assert not ok(header, arrived.body, secret + "x")


def test_the_atto_snippet_reads_the_notified_consent_back(
    base: str, receiver: WebhookReceiver
) -> None:
    consent_now: Callable[[bytes, str, str], dict[str, Any]] = snippet("Atto")["atto_consent_now"]
    hook = {"provider": "atto", "tenant": "c-1", "url": receiver.url, "secret": "unused"}
    assert httpx.post(f"{base}/__admin/webhooks", json=hook).status_code == 201
    consent = created(base, "atto", tenant="c-1", status="Active")
    [arrived] = receiver.wait_for(1)
    assert arrived.header("X-Fliqa-Signature") is None  # Atto documents no signature
    form = {"grant_type": "client_credentials", "client_id": "c-1", "client_secret": "cs"}
    token = httpx.post(f"{base}/atto/v1/oauth2/token", data={**form, "scope": "api:consent"})
    shown = consent_now(arrived.body, f"{base}/atto", token.json()["accessToken"])
    assert shown["consentId"] == arrived.json["consentId"] == consent["consentId"]
    assert shown["consentStatus"] == arrived.json["consentStatus"] == "Active"
