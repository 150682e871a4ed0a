"""Finqware's onboarding session (POST /v1/sessions, its steps) and the bounded short-lived state
of its pages (issue #18 point 4), through Flask's test client with strict response checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import SimClock, create_app
from mockserver.app import Simulator

from tests_helpers import json_of

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = "/finqware/v1/sessions"
RZB, BT = "rzb_ro_aisp_sbx_#1.0", "bt_ro_aisp_sbx_#2.0"
CLIENT = {"client_id": "sandbox-finqware-client"}
APP = {**CLIENT, "client_app_key": "sandbox-finqware-app-key"}
SECRET = {**CLIENT, "client_secret": "sandbox-finqware-secret"}


@pytest.fixture
def app(clock: SimClock) -> Iterator[Flask]:
    application = create_app(["finqware"], strict=True, clock=clock, fixtures=ROOT / "fixtures")
    application.testing = True
    yield application


def error(response: TestResponse, status: int, code: str) -> None:
    assert response.status_code == status, response.json
    body = json_of(response)
    assert set(body) == {"id", "type", "http", "code", "message"}
    assert body["http"] == status and body["code"] == code


def start(client: FlaskClient, skill: str = RZB, **fields: str) -> dict[str, Any]:
    body = {"tenant_user_id": "user-1", **APP, "skill": skill, **fields}
    response = client.post(SESSIONS, json=body)
    assert response.status_code == 200, response.json
    return json_of(response)


def step(
    client: FlaskClient, session: dict[str, Any], nonce: str | None = None, **fields: Any
) -> TestResponse:
    body: dict[str, Any] = {
        **CLIENT,
        "nonce": nonce or session["nonce"],
        "skill": RZB,
        "step": "sca",
        "data": {},
    }
    return client.post(f"{SESSIONS}/{session['session_id']}/steps", json=body | fields)


def advance(client: FlaskClient, duration: str) -> None:
    assert client.post("/__admin/clock", json={"advance": duration}).status_code == 200


def sca(client: FlaskClient, session_id: str, decision: str, tenant: str = "") -> TestResponse:
    body = {"tenant": tenant or CLIENT["client_id"], "decision": decision}
    return client.post(f"/__admin/finqware/sessions/{session_id}/sca", json=body)


# -- the documented session ------------------------------------------------------------------------
def test_a_session_starts_with_a_nonce_and_each_step_answers_a_new_one(client: FlaskClient) -> None:
    session = start(client)
    assert set(session) == {"nonce", "session_id", "status"}
    assert session["status"] == "SESSION_CREATED"
    first = step(client, session, data={"redirect_uri": "https://app.example/back"})
    body = json_of(first)
    assert first.status_code == 200 and body["status"] == "SESSION_IN_PROGRESS"
    assert set(body) == {"step_id", "nonce", "status", "data"} and body["nonce"] != session["nonce"]
    assert body["data"]["sca_status"] == "PENDING"
    assert body["data"]["sca_url"].endswith(
        f"/__sandbox/finqware/sca/{session['session_id']}?client_id=sandbox-finqware-client"
    )
    error(step(client, session), 401, "unauthorized_tenant")  # the first nonce was consumed
    polled = json_of(step(client, session, body["nonce"]))
    assert polled["status"] == "SESSION_IN_PROGRESS" and polled["step_id"] != body["step_id"]


def test_an_approved_session_ends_with_the_temp_token_the_exchange_takes(
    client: FlaskClient,
) -> None:
    session = start(client, BT)
    pending = json_of(step(client, session, skill=BT))
    assert json_of(sca(client, session["session_id"], "approve")) == {
        "session_id": session["session_id"],
        "sca_status": "APPROVED",
    }
    done = json_of(step(client, session, pending["nonce"], skill=BT))
    assert done["status"] == "SESSION_COMPLETED" and done["data"]["sca_status"] == "APPROVED"
    made = client.post(
        "/finqware/v1/tokens", json={**SECRET, "temp_token": done["data"]["temp_token"]}
    )
    assert made.status_code == 200
    read = {**SECRET, **{k: json_of(made)[k] for k in ("credentials_id", "access_token")}}
    consent = json_of(client.post("/finqware/v1/consents/get", json=read))["result"]
    assert consent["status"] == "ACTIVE" and consent["originator"]["skill"] == BT
    error(step(client, session, done["nonce"], skill=BT), 404, "invalid_session_id")  # ended


def test_a_rejected_authentication_is_a_tpp_redirect_error_and_ends_the_session(
    client: FlaskClient,
) -> None:
    session = start(client)
    pending = json_of(step(client, session))
    assert sca(client, session["session_id"], "reject").status_code == 200
    error(step(client, session, pending["nonce"]), 400, "tpp_redirect_error")
    error(step(client, session, pending["nonce"]), 404, "invalid_session_id")


def test_the_nonce_lasts_30_minutes_by_the_simulated_clock(client: FlaskClient) -> None:
    session = start(client)
    advance(client, "PT29M")
    pending = json_of(step(client, session))  # still valid; the new nonce counts from now
    advance(client, "PT29M")
    assert step(client, session, pending["nonce"]).status_code == 200
    late = start(client)
    advance(client, "PT30M")
    error(step(client, late), 404, "invalid_session_id")


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"skill": "ing_ro_aisp_#1.0"}, 400, "invalid_skill_name"),
        ({"client_app_key": "another"}, 401, "invalid_client_app_key"),
        ({"client_app_key": ""}, 400, "invalid_field"),
        ({"tenant_user_id": 5}, 400, "invalid_field"),
        ({"extra": 1}, 400, "unknown_fields"),
    ],
)
def test_session_refusals(
    client: FlaskClient, fields: dict[str, Any], status: int, code: str
) -> None:
    body = {"tenant_user_id": "u", **APP, "skill": RZB, **fields}
    error(client.post(SESSIONS, json=body), status, code)


def test_a_missing_field_is_missing_fields(client: FlaskClient) -> None:
    error(client.post(SESSIONS, json={**APP, "skill": RZB}), 400, "missing_fields")


def test_step_refusals_leave_the_nonce_usable(client: FlaskClient) -> None:
    session = start(client)
    error(step(client, session, skill=BT), 400, "invalid_skill_name")
    error(step(client, session, step="product_form"), 400, "invalid_step")
    error(step(client, session, data={"redirect_uri": "javascript:x"}), 400, "invalid_field")
    error(step(client, session, data={"colour": "red"}), 400, "unknown_fields")
    error(step(client, session, client_id="someone-else"), 404, "invalid_session_id")
    missing = {"session_id": "0b7e4a0c-3f5d-4c8e-9a61-2d4f8b1c7e90", "nonce": "n"}
    error(step(client, missing), 404, "invalid_session_id")
    assert step(client, session).status_code == 200


def test_the_first_app_key_of_a_new_client_registers_it(client: FlaskClient) -> None:
    body = {"tenant_user_id": "u", "client_id": "new-app", "skill": RZB}
    assert client.post(SESSIONS, json={**body, "client_app_key": "k1"}).status_code == 200
    assert client.post(SESSIONS, json={**body, "client_app_key": "k1"}).status_code == 200
    error(
        client.post(SESSIONS, json={**body, "client_app_key": "k2"}), 401, "invalid_client_app_key"
    )


# -- the bank's page and the admin route -----------------------------------------------------------
def test_the_bank_page_approves_and_sends_the_browser_back(client: FlaskClient) -> None:
    session = start(client)
    pending = json_of(step(client, session, data={"redirect_uri": "https://app.example/back"}))
    url = urlsplit(pending["data"]["sca_url"])
    page = client.get(f"{url.path}?{url.query}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Raiffeisen Bank Romania" in html
    action = re.search(r"action='([^']+)'", html)
    assert action and action.group(1) == f"{session['session_id']}/decision"
    decided = client.post(
        f"/__sandbox/finqware/sca/{session['session_id']}/decision",
        data={**CLIENT, "decision": "approve"},
    )
    assert decided.status_code == 303
    back = urlsplit(decided.headers["Location"])
    assert back.netloc == "app.example" and parse_qs(back.query) == {
        "session_id": [session["session_id"]],
        "sca_status": ["approved"],
    }
    again = client.get(f"{url.path}?{url.query}")
    assert again.status_code == 409  # already answered
    assert json_of(step(client, session, pending["nonce"]))["status"] == "SESSION_COMPLETED"


def test_the_bank_page_refuses_what_it_cannot_answer(client: FlaskClient) -> None:
    session = start(client)
    page = f"/__sandbox/finqware/sca/{session['session_id']}"
    assert client.get(page, query_string=CLIENT).status_code == 409  # the step has not started
    step(client, session)
    assert client.get(page, query_string={"client_id": "other"}).status_code == 404
    assert client.get("/__sandbox/finqware/sca/nope", query_string=CLIENT).status_code == 404
    answer = client.post(f"{page}/decision", data={**CLIENT, "decision": "maybe"})
    assert answer.status_code == 400


def test_the_admin_sca_route_checks_its_body(client: FlaskClient) -> None:
    session = start(client)
    assert sca(client, session["session_id"], "approve").status_code == 409  # not started
    step(client, session)
    route = f"/__admin/finqware/sessions/{session['session_id']}/sca"
    for bad in ({}, {"tenant": CLIENT["client_id"]}, {**CLIENT, "decision": "yes"}, {"x": 1}):
        assert client.post(route, json=bad).status_code == 400, bad
    assert sca(client, session["session_id"], "approve", tenant="other").status_code == 404
    assert sca(client, session["session_id"], "reject").status_code == 200
    assert sca(client, session["session_id"], "approve").status_code == 409


# -- nothing short-lived grows without bound (issue #18 point 4) -----------------------------------
def values(sim: Simulator, namespace: str) -> int:
    held: dict[tuple[str, str], Any] = sim.store._values  # type: ignore[attr-defined]
    return len([key for (ns, key) in held if ns == namespace])


@pytest.fixture
def sim(app: Flask) -> Simulator:
    simulator: Simulator = app.extensions["mockserver"]
    return simulator


def test_opening_the_onboarding_page_stores_nothing(client: FlaskClient, sim: Simulator) -> None:
    query = {**CLIENT, "redirect_uri": "https://app.example/cb"}
    client.get("/__sandbox/finqware/onboarding", query_string=query)  # the signing key, once
    before = len(sim.store._values)  # type: ignore[attr-defined]
    for _ in range(300):
        assert client.get("/__sandbox/finqware/onboarding", query_string=query).status_code == 200
    assert len(sim.store._values) == before  # type: ignore[attr-defined]
    unknown = {"client_id": "never-seen", "redirect_uri": "https://app.example/cb"}
    for _ in range(50):
        client.get("/__sandbox/finqware/onboarding", query_string=unknown)
        client.post("/__sandbox/finqware/onboarding/decision", data={"client_id": "never-seen"})
    assert len(sim.store._values) == before  # type: ignore[attr-defined]


def test_decisions_and_temp_tokens_are_bounded_per_client_and_collected(
    client: FlaskClient, sim: Simulator
) -> None:
    query = {**CLIENT}
    for _ in range(130):
        page = client.get("/__sandbox/finqware/onboarding", query_string=query)
        journey = re.search(r"name='journey' value='([^']+)'", page.get_data(as_text=True))
        assert journey
        form = {**CLIENT, "journey": journey.group(1), "decision": "approve"}
        assert client.post("/__sandbox/finqware/onboarding/decision", data=form).status_code == 200
    assert values(sim, "finqware:temp_token") == 100
    assert values(sim, "finqware:journey-decided") == 100
    advance(client, "PT1H")
    page = client.get("/__sandbox/finqware/onboarding", query_string=query)
    journey = re.search(r"name='journey' value='([^']+)'", page.get_data(as_text=True))
    assert journey
    form = {**CLIENT, "journey": journey.group(1), "decision": "approve"}
    assert client.post("/__sandbox/finqware/onboarding/decision", data=form).status_code == 200
    # The expired ones are gone from the store, not only unreadable.
    assert values(sim, "finqware:temp_token") == 1
    assert values(sim, "finqware:journey-decided") == 1


def test_sessions_are_bounded_per_client_and_collected(client: FlaskClient, sim: Simulator) -> None:
    made = [start(client) for _ in range(60)]
    assert values(sim, "finqware:session") == 50
    error(step(client, made[0]), 404, "invalid_session_id")  # the oldest ended
    assert step(client, made[-1]).status_code == 200
    advance(client, "PT31M")
    start(client)
    assert values(sim, "finqware:session") == 1


def test_a_temp_token_lasts_30_minutes(client: FlaskClient) -> None:
    made = client.post("/__admin/finqware/temp-tokens", json={"tenant": CLIENT["client_id"]})
    advance(client, "PT30M")
    late = {**SECRET, "temp_token": json_of(made)["temp_token"]}
    error(client.post("/finqware/v1/tokens", json=late), 401, "invalid_temp_token")
