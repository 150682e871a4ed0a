"""Yapily's webhooks through its own API: registration, listing, deletion, secret reset, and
consent events delivered (signed, main then backup URL) by the generic sender, over real HTTP
to a loopback receiver."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from test_yapily import CALLBACK, admin_consent, decide, h, start

from mockserver import SimClock, create_app
from mockserver.webhooks import Hub
from mockserver.webhooks.receiver import Received, WebhookReceiver

from tests_helpers import json_of

APP_ID = "9c1e2b5e-1f7a-4c47-9a8e-2a3c0f6b1d11"
EVENTS = "/yapily/webhook/events"


@pytest.fixture
def app(clock: SimClock) -> Iterator[Flask]:
    application = create_app(["yapily"], strict=True, clock=clock)
    application.testing = True
    hub: Hub = application.extensions["mockserver.webhooks"]
    hub.tick = 0.05
    yield application
    hub.stop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.post("/__admin/webhooks/settings", json={"backoff": 0.05, "timeout": 2, "attempts": 2})
    return client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.stop()


def register(client: FlaskClient, url: str, app_id: str = "app-a", **body: Any) -> dict[str, Any]:
    payload = {
        "applicationId": APP_ID,
        "categories": ["consent.status.authorized", "consent.status.revoked"],
        "callbackUrl": {"main": {"url": url}},
        **body,
    }
    response = client.post(EVENTS, json=payload, headers=h(app_id))
    assert response.status_code == 201, response.json
    data: dict[str, Any] = json_of(response)["data"]
    return data


def v2_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.json
    error: dict[str, Any] = json_of(response)["error"]
    assert error["code"] == status and error["source"] == "YAPILY"
    return error


def signed_by(arrived: Received, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), arrived.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(arrived.header("X-Yapily-Signature") or "", expected)


def test_categories_use_the_metadata_envelope(client: FlaskClient) -> None:
    body = json_of(client.get("/yapily/webhook/events/categories", headers=h()))
    assert set(body) == {"metadata", "data"} and len(body["metadata"]["tracingId"]) == 32
    names = [c["name"] for c in body["data"]["categories"]]
    for name in ("consent.created", "consent.status.authorized", "consent.status.expired"):
        assert name in names
    assert "payment.state.success" in names and "payment.state.failed" in names


def test_register_list_and_delete(client: FlaskClient) -> None:
    made = register(
        client,
        "https://client.example/hook",
        callbackUrl={
            "main": {"url": "https://client.example/hook"},
            "backup": {"url": "https://backup.example/hook"},
        },
        metadata={"team": "onboarding"},
    )
    assert made["status"] == "active" and len(made["webhookSecret"]) == 64
    assert made["applicationId"] == APP_ID and made["metadata"] == {"team": "onboarding"}
    assert made["callbackUrl"]["backup"] == {"url": "https://backup.example/hook"}
    listed = json_of(client.get(EVENTS, headers=h()))["data"]["active"]
    assert listed == [{k: v for k, v in made.items() if k != "webhookSecret"}]
    assert json_of(client.get(EVENTS, headers=h("app-b")))["data"]["active"] == []
    admin = json_of(client.get("/__admin/webhooks?provider=yapily"))["webhooks"]
    assert [(w["id"], w["tenant"], w["url"]) for w in admin] == [
        (made["id"], "app-a", "https://client.example/hook")
    ]
    assert made["webhookSecret"] not in str(admin)
    v2_error(client.delete(f"{EVENTS}/{made['id']}", headers=h("app-b")), 404)
    deleted = client.delete(f"{EVENTS}/{made['id']}", headers=h())
    assert json_of(deleted)["data"]["id"] == made["id"]
    assert "webhookSecret" not in json_of(deleted)["data"]
    v2_error(client.delete(f"{EVENTS}/{made['id']}", headers=h()), 404)
    assert json_of(client.get(EVENTS, headers=h()))["data"]["active"] == []


def test_at_most_ten_webhooks_per_application(client: FlaskClient) -> None:
    for n in range(10):
        register(client, f"https://client.example/hook/{n}")
    error = v2_error(client.post(EVENTS, json=_body(), headers=h()), 406)
    assert error["issues"][0]["code"] == "MAXIMUM_WEBHOOKS_REACHED"
    register(client, "https://client.example/other", app_id="app-b")  # per application


def _body(**changes: Any) -> dict[str, Any]:
    url = {"main": {"url": "https://client.example/hook"}}
    return {
        "applicationId": APP_ID,
        "categories": ["consent.created"],
        "callbackUrl": url,
    } | changes


@pytest.mark.parametrize(
    "body",
    [
        _body(categories=["consent.nope"]),
        _body(categories=[]),
        _body(callbackUrl={"main": {"url": "https://client.example/hook?x=1"}}),
        _body(callbackUrl={"main": {"url": "ftp://client.example/hook"}}),
        _body(callbackUrl={"main": {"url": "https://a.example/"}, "backup": {"url": "/rel"}}),
        _body(metadata={"big": "x" * 10240}),
        _body(applicationId="not-a-uuid"),
        {"categories": ["consent.created"]},
    ],
)
def test_registration_refuses_bad_bodies(client: FlaskClient, body: dict[str, Any]) -> None:
    v2_error(client.post(EVENTS, json=body, headers=h()), 400)


def test_an_application_id_that_is_a_uuid_must_be_named(client: FlaskClient) -> None:
    other = str(uuid.uuid4())
    v2_error(client.post(EVENTS, json=_body(), headers=h(other, "s")), 400)
    assert (
        client.post(EVENTS, json=_body(applicationId=other), headers=h(other, "s")).status_code
        == 201
    )


def test_secret_reset_refuses_what_it_must(client: FlaskClient) -> None:
    made = register(client, "https://client.example/hook")
    for delay in (-1, 86401, "soon"):
        v2_error(
            client.post(
                f"/yapily/webhook/secrets/{made['id']}", json={"delay": delay}, headers=h()
            ),
            400,
        )
    v2_error(
        client.post(f"/yapily/webhook/secrets/{uuid.uuid4()}", json={"delay": 0}, headers=h()), 404
    )
    v2_error(
        client.post(f"/yapily/webhook/secrets/{made['id']}", json={"delay": 0}, headers=h("app-b")),
        404,
    )
    v2_error(client.delete(f"{EVENTS}/not-a-uuid", headers=h()), 400)


# -- deliveries ----------------------------------------------------------------------------------


def test_an_approved_consent_is_delivered_signed_in_the_documented_envelope(
    client: FlaskClient, receiver: WebhookReceiver
) -> None:
    made = register(client, receiver.url, metadata={"team": "onboarding"})
    started = start(client, callback=CALLBACK)  # consent.created: not subscribed
    decide(client, started, "approve")
    [arrived] = receiver.wait_for(1)
    body = arrived.json
    assert set(body) == {"id", "applicationId", "type", "event", "metadata"}
    assert body["id"] == made["id"] and body["applicationId"] == APP_ID
    assert body["type"] == "consent.status.authorized" and len(body["metadata"]["tracingId"]) == 32
    event = body["event"]
    assert event["id"] == started["id"] and event["status"] == "AUTHORIZED"
    assert event["previousStatus"] == "AWAITING_AUTHORIZATION"
    assert event["metadata"] == {"team": "onboarding"} and "consentToken" not in event
    assert signed_by(arrived, made["webhookSecret"])
    assert not signed_by(arrived, "another-secret")


def test_the_backup_url_gets_what_the_main_url_refuses(
    client: FlaskClient, receiver: WebhookReceiver
) -> None:
    main = WebhookReceiver(path="/main")
    main.fail(times=1, status=503)
    try:
        urls = {"main": {"url": main.url}, "backup": {"url": receiver.url}}
        made = register(client, main.url, callbackUrl=urls)
        admin_consent(client, status="AUTHORIZED")  # created: not subscribed
        consent_id = admin_consent(client, status="AWAITING_AUTHORIZATION")["id"]
        client.post(f"/__admin/yapily/consents/{consent_id}/approve")
        [arrived] = receiver.wait_for(1)
        assert arrived.json["id"] == made["id"] and signed_by(arrived, made["webhookSecret"])
        [refused] = main.wait_for(1)
        assert refused.status == 503
        client.post(f"/__admin/yapily/consents/{consent_id}/status", json={"status": "REVOKED"})
        [again] = main.wait_for(2)[1:]  # the main URL answers again: it gets the next one
        assert again.json["type"] == "consent.status.revoked" and len(receiver.received) == 1
    finally:
        main.stop()


def test_the_old_secret_signs_during_the_reset_delay(
    client: FlaskClient, receiver: WebhookReceiver
) -> None:
    made = register(client, receiver.url)
    reset = client.post(f"/yapily/webhook/secrets/{made['id']}", json={"delay": 3600}, headers=h())
    assert reset.status_code == 201
    new_secret = json_of(reset)["data"]["webhookSecret"]
    assert new_secret != made["webhookSecret"]
    first = admin_consent(client, status="AWAITING_AUTHORIZATION")["id"]
    client.post(f"/__admin/yapily/consents/{first}/approve")
    [arrived] = receiver.wait_for(1)
    assert signed_by(arrived, made["webhookSecret"]) and not signed_by(arrived, new_secret)
    client.post("/__admin/clock", json={"advance": "PT1H1S", "tenant": "app-a"})
    client.post(f"/__admin/yapily/consents/{first}/status", json={"status": "REVOKED"})
    later = receiver.wait_for(2)[1]
    assert signed_by(later, new_secret)


def test_a_hook_registered_through_the_api_sends_expiry_without_a_request(
    client: FlaskClient, receiver: WebhookReceiver
) -> None:
    consent_id = admin_consent(client, status="AUTHORIZED", expiresAt="2026-01-06T00:00:00Z")["id"]
    register(client, receiver.url, categories=["consent.status.expired"])
    client.post("/__admin/clock", json={"advance": "P2D"})
    [arrived] = receiver.wait_for(1, timeout=5)
    assert arrived.json["type"] == "consent.status.expired"
    assert arrived.json["event"]["id"] == consent_id


def test_a_deleted_hook_gets_nothing_more(client: FlaskClient, receiver: WebhookReceiver) -> None:
    made = register(client, receiver.url, categories=["consent.created"])
    admin_consent(client, status="AUTHORIZED")
    receiver.wait_for(1)
    client.delete(f"{EVENTS}/{made['id']}", headers=h())
    admin_consent(client, status="AUTHORIZED")
    time.sleep(0.3)
    assert len(receiver.received) == 1
