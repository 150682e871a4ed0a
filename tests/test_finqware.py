"""Finqware behaviour through Flask's test client, strict response checks on every response."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import SimClock, create_app, kit
from mockserver.factories import make_consents
from mockserver.providers import finqware
from mockserver.providers.finqware.consent import STATES

from tests_helpers import json_of

ROOT = Path(__file__).resolve().parents[1]
TOKENS = "/finqware/v1/tokens"
GET = "/finqware/v1/consents/get"
DELETE = "/finqware/v1/consents/delete"
TENANT = {"client_id": "tenant-a", "client_secret": "secret-a"}
OTHER = {"client_id": "tenant-b", "client_secret": "secret-b"}
SANDBOX = {"client_id": "sandbox-finqware-client", "client_secret": "sandbox-finqware-secret"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def app(clock: SimClock) -> Iterator[Flask]:
    application = create_app(["finqware"], strict=True, clock=clock)
    application.testing = True
    yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def seeded(clock: SimClock) -> FlaskClient:
    application = create_app(["finqware"], strict=True, clock=clock, fixtures=ROOT / "fixtures")
    application.testing = True
    return application.test_client()


def advance(client: FlaskClient, duration: str, tenant: str | None = None) -> None:
    body = {"advance": duration, **({"tenant": tenant} if tenant else {})}
    assert client.post("/__admin/clock", json=body).status_code == 200


def temp_token(client: FlaskClient, tenant: str = "tenant-a", **extra: str) -> str:
    response = client.post("/__admin/finqware/temp-tokens", json={"tenant": tenant, **extra})
    assert response.status_code == 201, response.json
    return str(json_of(response)["temp_token"])


def exchange(client: FlaskClient, creds: dict[str, str] = TENANT, **extra: str) -> dict[str, Any]:
    """A fresh ACTIVE consent through the token exchange: its credentials_id and access_token."""
    token = temp_token(client, creds["client_id"], **extra)
    response = client.post(TOKENS, json={**creds, "temp_token": token})
    assert response.status_code == 200, response.json
    body = json_of(response)
    return body


def keys(consent: dict[str, Any]) -> dict[str, str]:
    return {"credentials_id": consent["credentials_id"], "access_token": consent["access_token"]}


def get(
    client: FlaskClient, consent: dict[str, Any], creds: dict[str, str] = TENANT
) -> TestResponse:
    return client.post(GET, json={**creds, **keys(consent)})


def delete(client: FlaskClient, consent: dict[str, Any], **extra: Any) -> TestResponse:
    return client.post(DELETE, json={**TENANT, **keys(consent), **extra})


def assert_error(response: TestResponse, status: int, code: str) -> None:
    assert response.status_code == status, response.json
    assert response.content_type == "application/json"
    body = json_of(response)
    assert set(body) == {"id", "type", "http", "code", "message"}
    assert body["http"] == status and body["code"] == code and UUID.match(body["id"])
    assert body["type"] == {400: "invalid_request", 401: "unauthorized"}.get(status, body["type"])


# -- the token exchange and the consent it creates ------------------------------------------------
def test_token_exchange_creates_an_active_consent_for_90_days(client: FlaskClient) -> None:
    made = exchange(client, skill="bt_ro_aisp_sbx_#2.0")
    assert list(made) == ["credentials_id", "access_token", "consent_exp", "max_data_retention"]
    assert UUID.match(made["credentials_id"]) and len(made["access_token"]) >= 32
    assert made["consent_exp"] == "2026-04-05T09:30:00Z"  # T0 + 90 days
    assert made["max_data_retention"] == "2026-05-05T09:30:00Z"  # T0 + 120 days
    response = get(client, made)
    assert response.status_code == 200
    assert response.json == {
        "op_type": "read",
        "code": "credentials_info",
        "http": 200,
        "message": "Consent info retrieved",
        "result": {
            "credentials_id": made["credentials_id"],
            "originator": {
                "country": "Romania",
                "servicer": "Banca Transilvania",
                "skill": "bt_ro_aisp_sbx_#2.0",
            },
            "status": "ACTIVE",
            "tenant_app_info": {"client_id": "tenant-a", "name": "tenant-a"},
            "utc_created": "2026-01-05T09:30:00Z",
            "utc_last_update": "2026-01-05T09:30:00Z",
            "consent_exp": "2026-04-05T09:30:00Z",
            "max_data_retention": "2026-05-05T09:30:00Z",
        },
    }


def test_a_temp_token_is_exchanged_once(client: FlaskClient) -> None:
    token = temp_token(client)
    assert client.post(TOKENS, json={**TENANT, "temp_token": token}).status_code == 200
    again = client.post(TOKENS, json={**TENANT, "temp_token": token})
    assert_error(again, 401, "invalid_temp_token")
    assert_error(
        client.post(TOKENS, json={**TENANT, "temp_token": "made-up"}), 401, "invalid_temp_token"
    )


def test_another_tenants_temp_token_is_refused_and_stays_usable(client: FlaskClient) -> None:
    token = temp_token(client, "tenant-a")
    assert_error(
        client.post(TOKENS, json={**OTHER, "temp_token": token}), 401, "invalid_temp_token"
    )
    assert client.post(TOKENS, json={**TENANT, "temp_token": token}).status_code == 200


# -- tenants: client_id + the first client_secret -------------------------------------------------
def test_the_first_secret_registers_the_client_id(client: FlaskClient) -> None:
    made = exchange(client)
    wrong = {"client_id": "tenant-a", "client_secret": "another"}
    assert_error(get(client, made, wrong), 401, "invalid_client_secret")
    token = temp_token(client)
    assert_error(
        client.post(TOKENS, json={**wrong, "temp_token": token}), 401, "invalid_client_secret"
    )
    assert_error(client.post(DELETE, json={**wrong, **keys(made)}), 401, "invalid_client_secret")
    assert json_of(get(client, made))["result"]["status"] == "ACTIVE"


def test_a_consent_is_visible_only_to_its_tenant(client: FlaskClient) -> None:
    made = exchange(client)
    exchange(client, OTHER)  # tenant-b exists and is registered
    assert_error(get(client, made, OTHER), 401, "invalid_credentials_id")
    refused = client.post(DELETE, json={**OTHER, **keys(made)})
    assert_error(refused, 401, "invalid_credentials_id")
    assert json_of(get(client, made))["result"]["status"] == "ACTIVE"


def test_unknown_consent_and_wrong_access_token(client: FlaskClient) -> None:
    made = exchange(client)
    unknown = {**keys(made), "credentials_id": "519e-no-such-consent"}
    assert_error(client.post(GET, json={**TENANT, **unknown}), 401, "invalid_credentials_id")
    assert_error(client.post(DELETE, json={**TENANT, **unknown}), 401, "invalid_credentials_id")
    other = exchange(client)
    swapped = {**keys(made), "access_token": other["access_token"]}
    assert_error(client.post(GET, json={**TENANT, **swapped}), 401, "invalid_access_token")
    assert_error(client.post(DELETE, json={**TENANT, **swapped}), 401, "invalid_access_token")
    assert json_of(get(client, made))["result"]["status"] == "ACTIVE"


# -- malformed requests ---------------------------------------------------------------------------
FULL = {"client_id": "c", "client_secret": "s", "credentials_id": "i", "access_token": "t"}


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        (GET, {}, "client_id, client_secret, credentials_id, access_token"),
        (GET, {"client_id": "c", "client_secret": "s"}, "credentials_id, access_token"),
        (
            DELETE,
            {"access_token": "t", "pcd_data_retention": -1},
            "client_id, client_secret, credentials_id",
        ),
        (DELETE, {k: v for k, v in FULL.items() if k != "client_secret"}, "client_secret"),
        (TOKENS, {"client_id": "c", "client_secret": "s"}, "temp_token"),
        (TOKENS, {"temp_token": "x", "unexpected": 1}, "client_id, client_secret"),
    ],
)
def test_missing_fields(client: FlaskClient, path: str, body: dict[str, Any], named: str) -> None:
    response = client.post(path, json=body)
    assert_error(response, 400, "missing_fields")
    assert json_of(response)["message"] == f"Missing fields: {named}"


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        (GET, {**FULL, "pcd_data_retention": 5}, "pcd_data_retention"),
        (DELETE, {**FULL, "extra": 1, "another": None}, "another, extra"),
        (TOKENS, {"client_id": "c", "client_secret": "s", "temp_token": "t", **FULL}, None),
    ],
)
def test_unknown_fields(client: FlaskClient, path: str, body: dict[str, Any], named: Any) -> None:
    response = client.post(path, json=body)
    assert_error(response, 400, "unknown_fields")
    assert (
        json_of(response)["message"] == f"Unknown fields: {named or 'access_token, credentials_id'}"
    )


@pytest.mark.parametrize(
    ("path", "field", "value", "code"),
    [
        (GET, "client_id", "", "invalid_client_id"),
        (GET, "client_id", 42, "invalid_client_id"),
        (DELETE, "client_secret", None, "invalid_client_secret"),
        (GET, "credentials_id", ["a"], "invalid_credentials_id"),
        (DELETE, "access_token", {"t": 1}, "invalid_access_token"),
        (GET, "access_token", "", "invalid_access_token"),
        (TOKENS, "temp_token", 7, "invalid_field"),
        (TOKENS, "temp_token", "", "invalid_field"),
        (TOKENS, "client_secret", False, "invalid_client_secret"),
    ],
)
def test_ill_typed_fields(
    client: FlaskClient, path: str, field: str, value: Any, code: str
) -> None:
    body = {"client_id": "c", "client_secret": "s", "temp_token": "t"} if path == TOKENS else FULL
    assert_error(client.post(path, json={**body, field: value}), 400, code)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("[]", "application/json"),
        ('"text"', "application/json"),
        ("42", "application/json"),
        ("null", "application/json"),
        ("{", "application/json"),
        ("", "application/json"),
        ("client_id=c", "application/x-www-form-urlencoded"),
        ("{}", "text/plain"),
    ],
)
def test_a_body_that_is_not_a_json_object(
    client: FlaskClient, data: str, content_type: str
) -> None:
    for path in (TOKENS, GET, DELETE):
        assert_error(client.post(path, data=data, content_type=content_type), 400, "invalid_body")


def test_checks_run_in_the_documented_order(client: FlaskClient) -> None:
    exchange(client)  # registers tenant-a with secret-a
    wrong_secret = {"client_id": "tenant-a", "client_secret": "wrong"}
    # missing before unknown before malformed before the secret
    body = {**wrong_secret, "credentials_id": 1, "extra": 1}
    assert_error(client.post(GET, json=body), 400, "missing_fields")
    body["access_token"] = "t"
    assert_error(client.post(GET, json=body), 400, "unknown_fields")
    del body["extra"]
    assert_error(client.post(GET, json=body), 400, "invalid_credentials_id")
    body["credentials_id"] = "unknown"
    assert_error(client.post(GET, json=body), 401, "invalid_client_secret")
    assert_error(client.post(GET, json={**body, **TENANT}), 401, "invalid_credentials_id")
    deleted = {**wrong_secret, "credentials_id": "x", "access_token": "t", "pcd_data_retention": -1}
    assert_error(client.post(DELETE, json=deleted), 400, "invalid_pcd_data_retention")


def test_a_refused_first_call_registers_nothing(client: FlaskClient) -> None:
    bad = {"client_id": "tenant-new", "client_secret": "first", "temp_token": ""}
    assert_error(client.post(TOKENS, json=bad), 400, "invalid_field")
    token = temp_token(client, "tenant-new")
    good = {"client_id": "tenant-new", "client_secret": "second", "temp_token": token}
    assert client.post(TOKENS, json=good).status_code == 200


# -- delete ---------------------------------------------------------------------------------------
def test_delete_is_idempotent(client: FlaskClient) -> None:
    made = exchange(client)
    advance(client, "PT1H")
    first = delete(client, made)
    assert first.status_code == 200
    assert first.json == {
        "op_type": "delete",
        "code": "credentials_deleted",
        "http": 200,
        "message": "Consent deleted",
        "result": {
            "client_id": "tenant-a",
            "credentials_id": made["credentials_id"],
            "max_data_retention": made["max_data_retention"],
        },
    }
    after = json_of(get(client, made))["result"]
    assert after["status"] == "DELETED" and after["utc_last_update"] == "2026-01-05T10:30:00Z"
    advance(client, "PT1H")
    second = delete(client, made)
    assert second.status_code == 200 and second.json == first.json
    assert json_of(get(client, made))["result"] == after


def test_pcd_data_retention_sets_max_data_retention(client: FlaskClient) -> None:
    made = exchange(client)
    advance(client, "P1D")
    response = delete(client, made, pcd_data_retention=1440)
    assert json_of(response)["result"]["max_data_retention"] == "2026-01-07T09:30:00Z"
    advance(client, "PT5H")
    # it counts from the deletion, so repeating it changes nothing; another value moves it
    assert delete(client, made, pcd_data_retention=1440).json == response.json
    zero = delete(client, made, pcd_data_retention=0.0)
    assert json_of(zero)["result"]["max_data_retention"] == "2026-01-06T09:30:00Z"
    assert json_of(get(client, made))["result"]["max_data_retention"] == "2026-01-06T09:30:00Z"
    # without it the retention stays as it is
    assert json_of(delete(client, made))["result"]["max_data_retention"] == "2026-01-06T09:30:00Z"


@pytest.mark.parametrize("bad", [-1, 1.5, "60", None, True, False, 2147483648, [1], {"m": 1}])
def test_pcd_data_retention_must_be_minutes(client: FlaskClient, bad: Any) -> None:
    made = exchange(client)
    assert_error(delete(client, made, pcd_data_retention=bad), 400, "invalid_pcd_data_retention")
    assert json_of(get(client, made))["result"]["status"] == "ACTIVE"


def test_the_largest_retention_is_accepted(client: FlaskClient) -> None:
    made = exchange(client)
    response = delete(client, made, pcd_data_retention=2147483647)
    assert response.status_code == 200
    assert json_of(response)["result"]["max_data_retention"].startswith("6109-")


# -- expiry by the simulated clock ----------------------------------------------------------------
def test_active_expires_after_90_days(client: FlaskClient) -> None:
    made = exchange(client)
    advance(client, "P89DT23H59M59S")
    assert json_of(get(client, made))["result"]["status"] == "ACTIVE"
    advance(client, "PT1S")
    expired = json_of(get(client, made))["result"]
    assert expired["status"] == "EXPIRED"
    assert expired["utc_last_update"] == expired["consent_exp"] == "2026-04-05T09:30:00Z"
    advance(client, "P400D")  # no purge: still readable long after max_data_retention
    assert json_of(get(client, made))["result"] == expired


def test_deleting_an_expired_consent_keeps_it_expired(client: FlaskClient) -> None:
    made = exchange(client)
    advance(client, "P100D")
    response = delete(client, made, pcd_data_retention=60)
    assert response.status_code == 200 and json_of(response)["code"] == "credentials_deleted"
    # the retention counts from when it stopped being ACTIVE: its consent_exp
    assert json_of(response)["result"]["max_data_retention"] == "2026-04-05T10:30:00Z"
    assert json_of(get(client, made))["result"]["status"] == "EXPIRED"


def test_a_deleted_consent_never_expires(client: FlaskClient) -> None:
    made = exchange(client)
    delete(client, made)
    advance(client, "P91D")
    assert json_of(get(client, made))["result"]["status"] == "DELETED"


def test_the_clock_can_move_for_one_tenant(client: FlaskClient) -> None:
    mine, theirs = exchange(client), exchange(client, OTHER)
    advance(client, "P90D", tenant="tenant-a")
    assert json_of(get(client, mine))["result"]["status"] == "EXPIRED"
    assert json_of(get(client, theirs, OTHER))["result"]["status"] == "ACTIVE"


# -- errors outside the operations ----------------------------------------------------------------
def test_unknown_routes_and_methods_answer_in_finqware_format(client: FlaskClient) -> None:
    assert_error(client.post("/finqware/v1/consents/list", json={}), 404, "not_found")
    wrong_method = client.get(GET)
    assert_error(wrong_method, 405, "not_found")
    assert wrong_method.headers["Allow"] == "POST"
    assert json_of(wrong_method)["type"] == "invalid_request"


def test_too_large_and_injected_faults(clock: SimClock) -> None:
    app = create_app(["finqware"], strict=True, clock=clock, max_body_bytes=256)
    client = app.test_client()
    huge = client.post(GET, json={**FULL, "access_token": "x" * 400})
    assert_error(huge, 413, "invalid_body")
    fault = {"provider": "finqware", "operation": "getConsent", "status": 503, "times": 1}
    assert client.post("/__admin/faults", json=fault).status_code == 201
    failed = client.post(GET, json=FULL)
    assert_error(failed, 503, "internal_error")
    assert json_of(failed)["type"] == "internal_error"
    limited = {**fault, "status": 429}
    assert client.post("/__admin/faults", json=limited).status_code == 201
    too_many = client.post(GET, json=FULL)
    assert_error(too_many, 429, "external_api_too_many_requests")


def test_the_error_id_is_the_journal_request_id(client: FlaskClient) -> None:
    response = client.post(GET, json=FULL)
    entry = json_of(client.get("/__admin/requests?provider=finqware"))["requests"][-1]
    assert entry["requestId"] == json_of(response)["id"]


def test_the_journal_masks_secrets(client: FlaskClient) -> None:
    made = exchange(client)
    get(client, made)
    entries = json_of(client.get("/__admin/requests?provider=finqware"))["requests"]
    text = str(entries)
    assert made["access_token"] not in text and "secret-a" not in text
    bodies = [e["body"] for e in entries if e.get("body")]
    assert any(
        b["credentials_id"] == made["credentials_id"] for b in bodies if "credentials_id" in b
    )
    assert all(str(b["client_secret"]).startswith("****") for b in bodies)
    assert entries[-1]["tenant"] == "tenant-a"


# -- the onboarding journey, through the test client ----------------------------------------------
def register(client: FlaskClient, creds: dict[str, str] = TENANT) -> None:
    """Make the client_id known (any call with its secret registers it), as the pages need."""
    bogus = {"credentials_id": "none", "access_token": "none"}
    assert_error(client.post(GET, json={**creds, **bogus}), 401, "invalid_credentials_id")


def start(client: FlaskClient, **params: str) -> tuple[str, str]:
    """Open the onboarding page (for a registered tenant-a); the journey and client_id fields."""
    register(client)
    query = {"client_id": "tenant-a", "redirect_uri": "https://client.example/cb", **params}
    page = client.get("/__sandbox/finqware/onboarding", query_string=query)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    journey = re.search(r"name='journey' value='([^']+)'", html)
    client_id = re.search(r"name='client_id' value='([^']+)'", html)
    assert journey and client_id
    return journey.group(1), client_id.group(1)


def decide(client: FlaskClient, journey: str, decision: str, **form: str) -> TestResponse:
    data = {"journey": journey, "client_id": "tenant-a", "decision": decision, **form}
    return client.post("/__sandbox/finqware/onboarding/decision", data=data)


def test_page_lists_the_sandbox_skills(client: FlaskClient) -> None:
    register(client)
    page = client.get(
        "/__sandbox/finqware/onboarding",
        query_string={"client_id": "tenant-a", "skill": "bt_ro_aisp_sbx_#2.0"},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    assert "rzb_ro_aisp_sbx_#1.0" in html and "Raiffeisen Bank Romania" in html
    assert "value='bt_ro_aisp_sbx_#2.0' checked" in html
    assert "<script" not in html


def test_approve_redirects_with_a_temp_token_to_exchange(client: FlaskClient) -> None:
    journey, _ = start(client, state="opaque-1")
    response = decide(client, journey, "approve", skill="bt_ro_aisp_sbx_#2.0")
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://client.example/cb"
    params = parse_qs(target.query)
    assert params["state"] == ["opaque-1"] and set(params) == {"temp_token", "state"}
    token = params["temp_token"][0]
    made = client.post(TOKENS, json={**TENANT, "temp_token": token})
    assert made.status_code == 200
    originator = json_of(get(client, json_of(made)))["result"]["originator"]
    assert originator["skill"] == "bt_ro_aisp_sbx_#2.0"
    assert_error(
        client.post(TOKENS, json={**TENANT, "temp_token": token}), 401, "invalid_temp_token"
    )


def test_reject_redirects_without_a_temp_token(client: FlaskClient) -> None:
    journey, _ = start(client, state="s2")
    response = decide(client, journey, "reject")
    assert response.status_code == 303
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    assert params == {"error": ["access_denied"], "state": ["s2"]}


def test_a_journey_is_decided_once(client: FlaskClient) -> None:
    journey, _ = start(client)
    assert decide(client, journey, "approve").status_code == 303
    assert decide(client, journey, "approve").status_code == 403
    other, _ = start(client)
    register(client, OTHER)
    stolen = {"journey": other, "client_id": "tenant-b", "decision": "approve"}
    assert client.post("/__sandbox/finqware/onboarding/decision", data=stolen).status_code == 403
    # A forged journey (the signed state changed) is refused as an unknown one.
    payload, _, signature = other.partition(".")
    forged = {"journey": f"{payload}x.{signature}", "client_id": "tenant-a", "decision": "approve"}
    assert client.post("/__sandbox/finqware/onboarding/decision", data=forged).status_code == 403
    assert decide(client, other, "reject").status_code == 303  # still unused


def test_the_pages_refuse_a_client_id_the_simulator_does_not_know(client: FlaskClient) -> None:
    query = {"client_id": "nobody-yet", "redirect_uri": "https://client.example/cb"}
    page = client.get("/__sandbox/finqware/onboarding", query_string=query)
    assert page.status_code == 400 and "is not registered" in page.get_data(as_text=True)
    register(client, {"client_id": "nobody-yet", "client_secret": "s"})
    assert client.get("/__sandbox/finqware/onboarding", query_string=query).status_code == 200


def test_a_journey_lasts_one_hour(client: FlaskClient) -> None:
    journey, _ = start(client)
    advance(client, "PT1H")
    assert decide(client, journey, "approve").status_code == 403


def test_without_redirect_uri_the_page_shows_the_temp_token(client: FlaskClient) -> None:
    register(client)
    page = client.get("/__sandbox/finqware/onboarding", query_string={"client_id": "tenant-a"})
    journey = re.search(r"name='journey' value='([^']+)'", page.get_data(as_text=True))
    assert journey
    done = decide(client, journey.group(1), "approve")
    token = re.search(r"<dt>temp_token</dt><dd><code>([^<]+)</code>", done.get_data(as_text=True))
    assert done.status_code == 200 and token
    assert client.post(TOKENS, json={**TENANT, "temp_token": token.group(1)}).status_code == 200


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"redirect_uri": "https://client.example/cb"}, 400),
        ({"client_id": "a", "redirect_uri": "client.example/cb"}, 400),
        ({"client_id": "a", "redirect_uri": "javascript:alert(1)"}, 400),
        ({"client_id": "a", "skill": "ing_ro_aisp_#1.0"}, 400),
    ],
)
def test_bad_onboarding_links(client: FlaskClient, query: dict[str, str], status: int) -> None:
    page = client.get("/__sandbox/finqware/onboarding", query_string=query)
    assert page.status_code == status
    assert "class='notice'" in page.get_data(as_text=True)


def test_bad_decisions(client: FlaskClient) -> None:
    journey, _ = start(client)
    assert decide(client, journey, "maybe").status_code == 400
    journey, _ = start(client)
    assert decide(client, journey, "approve", skill="unknown").status_code == 400


# -- fixtures -------------------------------------------------------------------------------------
FIXTURE = ROOT / "fixtures" / "finqware.yaml"


def fixture_consents() -> list[dict[str, Any]]:
    document = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    consents: list[dict[str, Any]] = document["tenants"][0]["consents"]
    return consents


def test_fixture_file_says_which_credentials_to_send() -> None:
    first = FIXTURE.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("#")
    assert SANDBOX["client_id"] in first and SANDBOX["client_secret"] in first
    assert finqware.PROVIDER.default_tenant == SANDBOX["client_id"]
    assert {c["status"] for c in fixture_consents()} == {"ACTIVE", "DELETED", "EXPIRED"}


def test_the_default_tenant_sees_every_status(seeded: FlaskClient) -> None:
    found = {}
    for consent in fixture_consents():
        response = get(seeded, consent, SANDBOX)
        assert response.status_code == 200, response.json
        result = json_of(response)["result"]
        found[consent["credentials_id"]] = result["status"]
        assert result["tenant_app_info"] == {
            "client_id": SANDBOX["client_id"],
            "name": "psd2-tests",
        }
        assert result["originator"]["skill"] == consent["skill"]
    assert sorted(found.values()) == ["ACTIVE", "ACTIVE", "DELETED", "EXPIRED"]


def test_the_default_tenant_secret_is_registered(seeded: FlaskClient) -> None:
    consent = fixture_consents()[0]
    wrong = {**SANDBOX, "client_secret": "guess"}
    assert_error(get(seeded, consent, wrong), 401, "invalid_client_secret")
    seeded.post("/__admin/reset")
    assert_error(get(seeded, consent, wrong), 401, "invalid_client_secret")
    assert get(seeded, consent, SANDBOX).status_code == 200


def test_fixture_credentials_are_checked(client: FlaskClient) -> None:
    def seed(credentials: Any) -> Any:
        document = {
            "provider": "finqware",
            "tenants": [{"tenant": "t", "credentials": credentials, "consents": []}],
        }
        return client.post("/__admin/seed", json=document)

    assert seed({"client_secret": "s", "name": "App"}).status_code == 201
    assert seed({"client_secret": "s"}).status_code == 201
    for bad in ({"client_secret": ""}, {"secret": "s"}, {"client_secret": "other"}, {}):
        response = seed(bad)
        assert response.status_code == 400, bad
        assert "tenants[0].credentials" in response.json["message"]


def test_the_factory_makes_consents_the_admin_api_accepts(client: FlaskClient) -> None:
    made = make_consents("finqware", 8, seed=3)
    assert made == make_consents("finqware", 8, seed=3)
    assert {m["status"] for m in made} == {"ACTIVE", "DELETED", "EXPIRED"}
    for fields in made:
        response = client.post("/__admin/finqware/consents", json={"tenant": "tenant-a", **fields})
        assert response.status_code == 201, response.json
        assert json_of(get(client, fields))["result"]["status"] == fields["status"]


# -- the admin API --------------------------------------------------------------------------------
def admin_consent(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/__admin/finqware/consents", json={"tenant": "tenant-a", **fields})
    assert response.status_code == 201, response.json
    body = json_of(response)
    return body


def test_admin_creates_in_every_status_with_journey_defaults(client: FlaskClient) -> None:
    active = admin_consent(client)
    assert active["status"] == "ACTIVE" and UUID.match(active["credentials_id"])
    assert active["access_token"] and active["consent_exp"] == "2026-04-05T09:30:00Z"
    assert active["originator"]["skill"] == "rzb_ro_aisp_sbx_#1.0"
    deleted = admin_consent(client, status="DELETED", pcd_data_retention=30)
    assert deleted["status"] == "DELETED"
    assert deleted["utc_last_update"] == "2026-01-05T09:30:00Z"
    assert deleted["max_data_retention"] == "2026-01-05T10:00:00Z"
    expired = admin_consent(client, status="expired")
    assert expired["status"] == "EXPIRED"
    assert expired["utc_created"] == "2025-10-07T09:30:00Z"  # 90 days ago: it expired just now
    assert expired["consent_exp"] == expired["utc_last_update"] == "2026-01-05T09:30:00Z"
    for made in (active, deleted, expired):
        assert json_of(get(client, made))["result"]["status"] == made["status"]
        assert "access_token" not in json_of(get(client, made))["result"]


def test_admin_create_takes_explicit_fields(client: FlaskClient) -> None:
    made = admin_consent(
        client,
        credentials_id="my-consent",
        access_token="my-token",
        skill="bt_ro_aisp_sbx_#2.0",
        name="psd2-tests",
        utc_created="2025-12-01T00:00:00Z",
        status="DELETED",
        utc_last_update="2025-12-02T00:00:00Z",
    )
    assert made["credentials_id"] == "my-consent" and made["access_token"] == "my-token"
    result = json_of(get(client, made))["result"]
    assert result["tenant_app_info"]["name"] == "psd2-tests"
    assert result["utc_last_update"] == "2025-12-02T00:00:00Z"
    assert result["consent_exp"] == "2026-03-01T00:00:00Z"
    old = admin_consent(client, utc_created="2025-09-01T00:00:00Z")
    assert json_of(get(client, old))["result"]["status"] == "EXPIRED"  # settled by the clock


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "REVOKED"},
        {"skill": "nope"},
        {"colour": "red"},
        {"credentials_id": 5},
        {"utc_created": "yesterday"},
        {"pcd_data_retention": 5},
        {"status": "DELETED", "pcd_data_retention": -5},
        {"status": "DELETED", "utc_last_update": "2020-01-01T00:00:00Z"},
        {"consent_exp": "2020-01-01T00:00:00Z"},
    ],
)
def test_admin_create_refuses_bad_fields(client: FlaskClient, fields: dict[str, Any]) -> None:
    response = client.post("/__admin/finqware/consents", json={"tenant": "tenant-a", **fields})
    assert response.status_code == 400, response.json


def test_admin_create_refuses_a_duplicate_id(client: FlaskClient) -> None:
    admin_consent(client, credentials_id="dup")
    assert (
        client.post(
            "/__admin/finqware/consents", json={"tenant": "tenant-b", "credentials_id": "dup"}
        ).status_code
        == 400
    )


def status_change(client: FlaskClient, consent: dict[str, Any], **body: Any) -> TestResponse:
    return client.post(f"/__admin/finqware/consents/{consent['credentials_id']}/status", json=body)


def test_admin_transitions(client: FlaskClient) -> None:
    made = admin_consent(client)
    advance(client, "P1D")
    deleted = status_change(client, made, status="DELETED", pcd_data_retention=60)
    assert deleted.status_code == 200
    assert json_of(deleted)["status"] == "DELETED"
    assert json_of(deleted)["max_data_retention"] == "2026-01-06T10:30:00Z"
    expired = status_change(client, admin_consent(client), status="EXPIRED")
    assert expired.status_code == 200
    assert (
        json_of(expired)["consent_exp"]
        == json_of(expired)["utc_last_update"]
        == "2026-01-06T09:30:00Z"
    )
    for wanted in ("ACTIVE", "EXPIRED", "DELETED"):
        refused = status_change(client, made, status=wanted)
        assert refused.status_code == 409
        assert json_of(refused)["allowed"] == [] and json_of(refused)["current"] == "DELETED"
    shown = json_of(client.get(f"/__admin/finqware/consents/{made['credentials_id']}"))
    assert shown["allowedTransitions"] == [] and shown["tenant"] == "tenant-a"
    fresh = admin_consent(client)
    listed = json_of(client.get(f"/__admin/finqware/consents/{fresh['credentials_id']}"))
    assert listed["allowedTransitions"] == ["DELETED", "EXPIRED"]


def test_admin_transition_options_are_checked(client: FlaskClient) -> None:
    made = admin_consent(client)
    assert status_change(client, made, status="DELETED", source="x").status_code == 400
    assert status_change(client, made, status="DELETED", pcd_data_retention="1").status_code == 400
    assert status_change(client, made, status="GONE").status_code == 400
    assert json_of(get(client, made))["result"]["status"] == "ACTIVE"


def test_admin_temp_tokens_route(client: FlaskClient) -> None:
    token = temp_token(client, "tenant-a", skill="bt_ro_aisp_sbx_#2.0")
    made = json_of(client.post(TOKENS, json={**TENANT, "temp_token": token}))
    assert json_of(get(client, made))["result"]["originator"]["servicer"] == "Banca Transilvania"
    for bad in (
        {},
        {"tenant": ""},
        {"tenant": 5},
        {"tenant": "a", "skill": "x"},
        {"tenant": "a", "b": 1},
    ):
        response = client.post("/__admin/finqware/temp-tokens", json=bad)
        assert response.status_code == 400 and json_of(response)["error"] == "bad_request", bad
    assert client.post("/__admin/finqware/temp-tokens", data="[").status_code == 400


# -- the module agrees with the spec --------------------------------------------------------------
def test_request_fields_match_the_spec() -> None:
    spec = yaml.safe_load((ROOT / "specs" / "finqware.yaml").read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    bodies = kit.spec_bodies("finqware.yaml")  # what identify checks the body against
    for path, item in spec["paths"].items():
        operation = item["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = schemas[ref.rsplit("/", 1)[1]]
        required, optional = bodies[operation["operationId"]]
        assert required == tuple(schema["required"]), path
        assert set(optional) == set(schema["properties"]) - set(schema["required"]), path
    assert schemas["ConsentStatus"]["enum"] == list(STATES.statuses)
