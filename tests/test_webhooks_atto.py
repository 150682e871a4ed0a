"""Atto's V2 consent webhooks (issue 19 point 3): a Consent notification per status change and
re-authentication, UpcomingExpiration by the simulated clock, the notice-period setting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import SimClock, create_app
from mockserver.clock import format_instant
from mockserver.webhooks import Hub
from mockserver.webhooks.receiver import Received, WebhookReceiver

from conftest import T0
from tests_helpers import json_of

CLIENT = "hooked-client"
NOTICE = "/__admin/atto/notifications"
FIELDS = ["eventType", "consentId", "consentStatus", "consentJourney", "customerReference"]
FIELDS += ["consentStart", "consentEnd", "statusUpdated"]


@pytest.fixture
def app(clock: SimClock) -> Iterator[Flask]:
    application = create_app(["atto"], strict=True, clock=clock)
    hub: Hub = application.extensions["mockserver.webhooks"]
    hub.tick = 0.05
    yield application
    hub.stop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def receiver(client: FlaskClient) -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    hook = {"provider": "atto", "tenant": CLIENT, "url": running.url, "secret": "whsec"}
    assert client.post("/__admin/webhooks", json=hook).status_code == 201
    yield running
    running.stop()


def bearer(client: FlaskClient) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": CLIENT, "scope": "api:consent"}
    token = json_of(client.post("/atto/v1/oauth2/token", data={**form, "client_secret": "s"}))
    return {"Authorization": f"Bearer {token['accessToken']}"}


def make(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/__admin/atto/consents", json={"tenant": CLIENT, **fields})
    assert response.status_code == 201, response.json
    return json_of(response)


def advance(client: FlaskClient, span: timedelta) -> None:
    seconds = int(span.total_seconds())
    assert client.post("/__admin/clock", json={"advance": f"PT{seconds}S"}).status_code == 200


def settled(receiver: WebhookReceiver, count: int) -> list[Received]:
    """Exactly `count` deliveries, once the sender has had time to send any more."""
    arrived = receiver.wait_for(count)
    time.sleep(0.4)
    assert len(receiver.received) == count, [r.json for r in receiver.received]
    return arrived


def test_a_status_change_sends_one_consent_notification(
    client: FlaskClient, receiver: WebhookReceiver
) -> None:
    made = make(client, status="Active", customerReference="cust-1")
    [created] = settled(receiver, 1)
    assert created.json["consentStatus"] == "Active"
    receiver.clear()
    revoked = client.post(f"/atto/consents/v1/{made['consentId']}/revoke", headers=bearer(client))
    assert revoked.status_code == 204
    [arrived] = settled(receiver, 1)
    now = client.get(f"/atto/consents/v1/{made['consentId']}", headers=bearer(client)).json
    assert now is not None
    assert list(arrived.json) == FIELDS
    assert arrived.json == {
        "eventType": "Consent",
        "consentId": made["consentId"],
        "consentStatus": "Revoked",
        "consentJourney": None,
        "customerReference": "cust-1",
        "consentStart": made["consentStart"],
        "consentEnd": made["consentEnd"],
        "statusUpdated": now["statusUpdated"],
    }
    assert arrived.header("Content-Type") == "application/json"
    assert not [name for name in arrived.headers if "signature" in name.lower()]


def test_a_finished_reauthentication_says_so(
    client: FlaskClient, receiver: WebhookReceiver
) -> None:
    made = make(client, status="Expired", customerReference="cust-2")
    settled(receiver, 1)
    receiver.clear()
    token = bearer(client)["Authorization"].split()[1]
    query = urlencode({"consent_id": made["consentId"], "access_token": token})
    screen = client.get(f"/__sandbox/atto/connect?{query}").headers["Location"]
    journey = parse_qs(urlsplit(screen).query)["journey"][0]
    decision = f"/__sandbox/atto/connect/{made['consentId']}/decision"
    assert (
        client.post(decision, data={"journey": journey, "decision": "approve"}).status_code == 200
    )
    [arrived] = settled(receiver, 1)
    assert arrived.json["consentStatus"] == "Active"
    assert arrived.json["consentJourney"] == "Reauthentication"
    assert arrived.json["consentStart"] == format_instant(T0)


def test_upcoming_expiration_once_by_the_clock_then_expired(
    client: FlaskClient, receiver: WebhookReceiver
) -> None:
    setting = client.post(NOTICE, json={"tenant": CLIENT, "upcomingExpirationDays": 10})
    assert json_of(setting) == {"tenant": CLIENT, "upcomingExpirationDays": 10}
    end = T0 + timedelta(days=30)
    made = make(client, status="Active", consentEnd=format_instant(end))
    settled(receiver, 1)
    advance(client, timedelta(days=20) - timedelta(minutes=1))
    settled(receiver, 1)  # 10 days and a minute before the end: nothing yet
    advance(client, timedelta(minutes=2))
    [_, notice] = settled(receiver, 2)
    assert notice.json == {
        **notice.json,
        "eventType": "Consent",
        "consentId": made["consentId"],
        "consentStatus": "UpcomingExpiration",
        "consentEnd": format_instant(end),
    }
    advance(client, timedelta(days=1))
    client.get(f"/atto/consents/v1/{made['consentId']}", headers=bearer(client))
    settled(receiver, 2)  # not repeated
    advance(client, timedelta(days=9))
    [*_, expired] = settled(receiver, 3)
    assert expired.json["consentStatus"] == "Expired"
    assert expired.json["statusUpdated"] == format_instant(end)


def test_a_clock_jump_past_the_end_sends_only_expired(
    client: FlaskClient, receiver: WebhookReceiver
) -> None:
    # The notice falls due at T0 + 3 days (7 before the end), after the consent is made, so
    # the jump passes both it and the end in one move. (An end 5 days away would be inside
    # the notice period already: the sender's next sweep sends the notice before any jump.)
    make(client, status="Active", consentEnd=format_instant(T0 + timedelta(days=10)))
    advance(client, timedelta(days=11))
    statuses = [r.json["consentStatus"] for r in settled(receiver, 2)]
    assert statuses == ["Active", "Expired"]


def test_the_notice_period_setting(client: FlaskClient, receiver: WebhookReceiver) -> None:
    assert json_of(client.get(f"{NOTICE}?tenant={CLIENT}"))["upcomingExpirationDays"] == 7
    bodies: list[Any] = [
        {"tenant": CLIENT, "upcomingExpirationDays": -1},
        {"tenant": CLIENT, "upcomingExpirationDays": "7"},
        {"tenant": CLIENT, "upcomingExpirationDays": True},
        {"tenant": CLIENT, "upcomingExpirationDays": 7, "days": 7},
        {"upcomingExpirationDays": 7},
        [],
    ]
    for body in bodies:
        refused = client.post(NOTICE, json=body)
        assert refused.status_code == 400 and json_of(refused)["error"] == "bad_request"
    assert client.get(NOTICE).status_code == 400
    # A consent 20 days from its end: the default 7 days sends nothing yet; a longer period set
    # afterwards applies to it at once; 0 turns the notice off for the next one.
    make(client, status="Active", consentEnd=format_instant(T0 + timedelta(days=20)))
    settled(receiver, 1)
    assert client.post(NOTICE, json={"tenant": CLIENT, "upcomingExpirationDays": 30}).json
    assert settled(receiver, 2)[1].json["consentStatus"] == "UpcomingExpiration"
    client.post(NOTICE, json={"tenant": CLIENT, "upcomingExpirationDays": 0})
    make(client, status="Active", consentEnd=format_instant(T0 + timedelta(days=1)))
    advance(client, timedelta(hours=23))
    settled(receiver, 3)
