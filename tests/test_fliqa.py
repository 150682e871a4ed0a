"""Fliqa behaviour through Flask's test client, strict response checks on every response."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import SimClock, create_app
from mockserver.factories import make_consents
from mockserver.kit import iban_ok
from mockserver.providers.fliqa.consent import STATES
from mockserver.providers.fliqa.dialect import phone_problem

from conftest import T0
from tests_helpers import json_of

STATUSES, TRANSITIONS = STATES.statuses, STATES.transitions

ROOT = Path(__file__).resolve().parent.parent
CONSENTS = "/fliqa/service/consent"
CREATE = "/fliqa/account/consent"
LOGIN = "/fliqa/account/login"
PHONE = "+43660123456"


@pytest.fixture
def app(clock: SimClock) -> Iterator[Flask]:
    application = create_app(["fliqa"], strict=True, clock=clock)
    application.testing = True
    yield application


# -- helpers ---------------------------------------------------------------------------------------
def key_headers(key: str = "tenant-a", secret: str = "secret-a") -> dict[str, str]:
    return {"Api-Key": key, "Api-Secret": secret}


def get_token(
    client: FlaskClient,
    key: str = "tenant-a",
    secret: str = "secret-a",
    env: str = "sandbox",
    slug: str = "acme",
) -> TestResponse:
    return client.get(f"/fliqa/service/auth/token/{env}/{slug}", headers=key_headers(key, secret))


def auth(client: FlaskClient, key: str = "tenant-a") -> dict[str, str]:
    response = get_token(client, key, f"secret-{key}")
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {json_of(response)['accessToken']}"}


def advance(client: FlaskClient, duration: str, tenant: str | None = None) -> None:
    body = {"advance": duration, **({"tenant": tenant} if tenant else {})}
    assert client.post("/__admin/clock", json=body).status_code == 200


def outbox(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/__admin/fliqa/outbox{query}")
    assert response.status_code == 200
    messages: list[dict[str, Any]] = json_of(response)["messages"]
    assert json_of(response)["total"] == len(messages)
    return messages


def login(client: FlaskClient, h: dict[str, str], **contact: str) -> str:
    """Log in with a phone number and/or e-mail; return the OTP from the admin outbox."""
    response = client.post(LOGIN, json=contact, headers=h)
    assert response.status_code == 200, response.json
    assert response.json == {"otpLength": 6}
    to = contact.get("msisdn") or contact["email"]
    field = "msisdn" if "msisdn" in contact else "email"
    otp: str = outbox(client, f"?{field}={to.replace('+', '%2B')}")[0]["otp"]
    return otp


def create(
    client: FlaskClient,
    h: dict[str, str],
    provider: str = "sandbox-bank-at",
    msisdn: str = PHONE,
    **extra: Any,
) -> dict[str, Any]:
    otp = login(client, h, msisdn=msisdn)
    body = {"providerId": provider, "otp": otp, "msisdn": msisdn, **extra}
    response = client.post(CREATE, json=body, headers=h)
    assert response.status_code == 201, response.json
    made = json_of(response)
    return made


def add(client: FlaskClient, h: dict[str, str], consent_id: str, **items: str) -> TestResponse:
    payload = [{"name": name, "value": value} for name, value in items.items()]
    return client.post(f"{CREATE}/{consent_id}", json=payload, headers=h)


def error(response: TestResponse, status: int, code: str, sub: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.json
    body = json_of(response)
    assert response.content_type == "application/json"
    assert body["errorCode"] == code
    assert body.get("errorSubCode") == sub
    assert body["documentationUrl"] == (
        f"https://documentation.fliqa.io/api/errors/{code}" + (f"#{sub}" if sub else "")
    )
    assert len(body["requestId"]) == 32
    return body


def admin_consent(client: FlaskClient, tenant: str = "tenant-a", **fields: Any) -> dict[str, Any]:
    response = client.post("/__admin/fliqa/consents", json={"tenant": tenant, **fields})
    assert response.status_code == 201, response.json
    return json_of(response)


# -- the access token -----------------------------------------------------------------------------
def test_token_from_api_key_and_secret(client: FlaskClient) -> None:
    response = get_token(client)
    assert response.status_code == 200
    body = json_of(response)
    assert set(body) == {"accessToken", "expires", "expiresIn", "scope"}
    assert body["expiresIn"] == 360 and body["expires"] == "2026-01-05T09:36:00Z"
    assert body["scope"] == ["account_owner", "account_info"]
    listed = client.get(CONSENTS, headers={"Authorization": f"Bearer {body['accessToken']}"})
    assert listed.status_code == 200 and json_of(listed)["data"] == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Api-Key": "tenant-a"}, {"Api-Secret": "x"}, {"Api-Key": " ", "Api-Secret": "x"}],
)
def test_token_needs_both_headers(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get("/fliqa/service/auth/token/sandbox/acme", headers=headers)
    error(response, 401, "unauthorized", "api_key_secret_header_must_be_provided")


def test_token_environment_must_be_production_or_sandbox(client: FlaskClient) -> None:
    body = error(get_token(client, env="staging"), 400, "invalid_parameter")
    assert "environment" in body["errorMessage"]


def test_a_key_is_bound_to_its_first_secret_environment_and_slug(client: FlaskClient) -> None:
    assert get_token(client).status_code == 200
    assert get_token(client).status_code == 200
    error(get_token(client, secret="other"), 401, "unauthorized", "not_authorized")
    error(get_token(client, env="production"), 403, "forbidden", "access_not_allowed")
    error(get_token(client, slug="other"), 403, "forbidden", "access_not_allowed")
    assert get_token(client, key="tenant-b", env="production").status_code == 200


@pytest.mark.parametrize("header", [None, "Basic dGVuYW50LWE6eA==", "Bearer", "Token abc"])
def test_other_calls_need_a_bearer_token(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for response in (
        client.get(CONSENTS, headers=headers),
        client.get(f"{CONSENTS}/123", headers=headers),
        client.post(LOGIN, json={"msisdn": PHONE}, headers=headers),
        client.post(CREATE, json={"providerId": "x", "otp": "1"}, headers=headers),
        client.post(f"{CREATE}/123", json=[], headers=headers),
    ):
        error(response, 401, "unauthorized", "authorization_header_must_be_provided")


def test_an_unknown_token_is_refused_as_expired(client: FlaskClient) -> None:
    response = client.get(CONSENTS, headers={"Authorization": "Bearer not-issued"})
    error(response, 401, "unauthorized", "access_token_expired")


def test_the_token_expires_after_360_seconds_of_the_clock(client: FlaskClient) -> None:
    h = auth(client)
    advance(client, "PT5M59S")
    assert client.get(CONSENTS, headers=h).status_code == 200
    advance(client, "PT1S")
    error(client.get(CONSENTS, headers=h), 401, "unauthorized", "access_token_expired")
    # an expired token is refused before its request is validated
    error(client.get(f"{CONSENTS}?limit=0", headers=h), 401, "unauthorized", "access_token_expired")
    assert client.get(CONSENTS, headers=auth(client)).status_code == 200


def test_the_token_expires_by_its_tenants_own_clock(client: FlaskClient) -> None:
    h, other = auth(client), auth(client, "tenant-b")
    advance(client, "PT6M", tenant="tenant-a")
    error(client.get(CONSENTS, headers=h), 401, "unauthorized", "access_token_expired")
    assert client.get(CONSENTS, headers=other).status_code == 200


def test_a_token_issued_on_a_moved_tenant_clock_lasts_360_seconds_of_it(
    client: FlaskClient,
) -> None:
    advance(client, "P1D", tenant="tenant-a")
    h = auth(client)
    assert client.get(CONSENTS, headers=h).status_code == 200
    advance(client, "PT6M", tenant="tenant-a")
    error(client.get(CONSENTS, headers=h), 401, "unauthorized", "access_token_expired")


# -- login and the outbox -------------------------------------------------------------------------
def test_login_puts_the_otp_in_the_admin_outbox(client: FlaskClient) -> None:
    h = auth(client)
    response = client.post(f"{LOGIN}?locale=de", json={"msisdn": PHONE}, headers=h)
    assert response.status_code == 200 and response.json == {"otpLength": 6}
    (message,) = outbox(client)
    assert message["channel"] == "sms" and message["to"] == PHONE
    assert message["otp"].isdigit() and len(message["otp"]) == 6
    assert message["otp"] in message["text"] and "Bestätigungscode" in message["text"]
    assert message["sentAt"] == "2026-01-05T09:30:00Z"
    assert message["expiresAt"] == "2026-01-05T09:35:00Z"
    assert message["tenant"].startswith("sha256:") and "tenant-a" not in str(message)


def test_the_outbox_filters_and_clears(client: FlaskClient) -> None:
    h, other = auth(client), auth(client, "tenant-b")
    client.post(LOGIN, json={"msisdn": PHONE, "email": "Anna@Example.com"}, headers=h)
    client.post(LOGIN, json={"msisdn": "+38640123456"}, headers=other)
    assert len(outbox(client)) == 3
    newest = outbox(client)[0]
    assert newest["to"] == "+38640123456"
    by_phone = outbox(client, "?msisdn=%2B43%20660%20123%20456")
    assert [m["channel"] for m in by_phone] == ["sms"]
    by_mail = outbox(client, "?email=anna@example.com")
    assert [m["to"] for m in by_mail] == ["Anna@Example.com"]
    assert by_mail[0]["otp"] == by_phone[0]["otp"]
    assert len(outbox(client, "?tenant=tenant-b")) == 1
    cleared = client.delete("/__admin/fliqa/outbox?tenant=tenant-b")
    assert cleared.json == {"deleted": 1} and len(outbox(client)) == 2
    assert client.delete("/__admin/fliqa/outbox").json == {"deleted": 2}
    assert outbox(client) == []


@pytest.mark.parametrize("body", [{}, {"msisdn": ""}, {"email": "", "msisdn": ""}])
def test_login_needs_a_phone_number_or_an_email(client: FlaskClient, body: dict[str, str]) -> None:
    response = client.post(LOGIN, json=body, headers=auth(client))
    error(response, 401, "unauthorized", "email_or_phone_number_required")
    assert outbox(client) == []


@pytest.mark.parametrize(
    ("msisdn", "sub"),
    [
        ("+" + "1" * 250, "string_supplied_was_too_long_to_parse"),
        ("0660123456", "phone_number_start_with_plus_and_country"),
        ("43660123456", "phone_number_start_with_plus_and_country"),
        ("+43 660 12345a", "supplied_string_not_phone_number"),
        ("+", "could_not_interpret_numbers_after_plus"),
        ("+0660123456", "could_not_interpret_numbers_after_plus"),
        ("+4366", "string_supplied_too_short_to_be_phone_number"),
        ("+436601234567890123", "string_supplied_too_long_to_be_phone_number"),
        ("+436601", "phone_number_invalid"),
        ("+4366012345678901", "phone_number_invalid"),
    ],
)
def test_login_validates_the_phone_number(client: FlaskClient, msisdn: str, sub: str) -> None:
    assert phone_problem(msisdn) == sub
    response = client.post(LOGIN, json={"msisdn": msisdn}, headers=auth(client))
    error(response, 400, "invalid_parameter", sub)


@pytest.mark.parametrize("msisdn", ["+43660123456", "+43 (660) 123-456", "+386.40.123.456"])
def test_login_accepts_phone_numbers_with_separators(client: FlaskClient, msisdn: str) -> None:
    assert client.post(LOGIN, json={"msisdn": msisdn}, headers=auth(client)).status_code == 200


@pytest.mark.parametrize("email", ["anna", "anna@example", "an na@example.com", "a@b@c.com"])
def test_login_validates_the_email(client: FlaskClient, email: str) -> None:
    response = client.post(LOGIN, json={"email": email}, headers=auth(client))
    error(response, 400, "invalid_parameter", "email_invalid")


@pytest.mark.parametrize("body", [{"msisdn": 43660123456}, {"email": None}, []])
def test_login_refuses_bodies_of_the_wrong_type(client: FlaskClient, body: Any) -> None:
    error(client.post(LOGIN, json=body, headers=auth(client)), 400, "invalid_parameter")


# -- create ---------------------------------------------------------------------------------------
def test_create_answers_201_with_location_and_an_initiated_consent(client: FlaskClient) -> None:
    h = auth(client)
    otp = login(client, h, msisdn=PHONE)
    data = [{"key": "customer_id", "value": "external_id_1234"}]
    body = {"providerId": "sandbox-bank-at", "otp": otp, "msisdn": PHONE, "data": data}
    response = client.post(f"{CREATE}?locale=sl", json=body, headers=h)
    assert response.status_code == 201
    consent = json_of(response)
    assert response.headers["Location"] == f"http://localhost{CONSENTS}/{consent['consentId']}"
    assert len(consent["consentId"]) == 32
    assert consent["status"] == "initiated"
    assert consent["created"] == consent["modified"] == "2026-01-05T09:30:00Z"
    assert consent["validUntil"] == "2026-04-05T09:30:00Z"
    assert consent["scope"] == "all" and consent["providerId"] == "sandbox-bank-at"
    assert consent["country"] == "AT" and consent["locale"] == "sl"
    assert consent["owner"] == {"msisdn": PHONE} and consent["data"] == data
    assert consent["name"] == "Account ownership check"
    assert consent["consentData"] == [
        {"name": "iban", "label": "IBAN", "description": "The IBAN of the account to share."}
    ]
    follow = client.get(response.headers["Location"], headers=h)
    assert follow.status_code == 200
    assert follow.json == {k: v for k, v in consent.items() if k != "consentData"}


@pytest.mark.parametrize(
    ("provider", "owed"),
    [
        ("sandbox-bank-de", ["iban", "select"]),
        ("sandbox-bank-si", ["username", "password", "otp"]),
        ("sandbox-bank-ro", ["redirect"]),
    ],
)
def test_consent_data_lists_what_the_bank_asks_for(
    client: FlaskClient, provider: str, owed: list[str]
) -> None:
    consent = create(client, auth(client), provider)
    assert [item["name"] for item in consent["consentData"]] == owed
    assert consent["status"] == "initiated"
    select = [i for i in consent["consentData"] if i["name"] == "select"]
    if select:
        assert [p["value"] for p in select[0]["properties"]] == ["current", "savings", "all"]


def test_language_falls_back_to_english(client: FlaskClient) -> None:
    h = auth(client)
    otp = login(client, h, msisdn=PHONE)
    body = {"providerId": "sandbox-bank-at", "otp": otp, "msisdn": PHONE}
    response = client.post(f"{CREATE}?locale=fr", json=body, headers=h)
    assert response.status_code == 201 and json_of(response)["locale"] == "en"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"otp": "123456", "msisdn": PHONE}, "Missing consent 'provider'!"),
        # FACTS-2 §2.2: the key is providerId; the old name `provider` is not read
        (
            {"provider": "sandbox-bank-at", "otp": "1", "msisdn": PHONE},
            "Missing consent 'provider'!",
        ),
        ({"providerId": " ", "otp": "123456", "msisdn": PHONE}, "Missing consent 'provider'!"),
        ({"providerId": "sandbox-bank-at", "msisdn": PHONE}, "Missing consent 'otp'!"),
        ({"providerId": "sandbox-bank-at", "otp": "", "msisdn": PHONE}, "Missing consent 'otp'!"),
    ],
)
def test_create_needs_provider_and_otp(
    client: FlaskClient, body: dict[str, Any], message: str
) -> None:
    response = client.post(CREATE, json=body, headers=auth(client))
    assert error(response, 400, "invalid_parameter")["errorMessage"] == message


@pytest.mark.parametrize(
    "body",
    [
        {"providerId": 1, "otp": "1", "msisdn": PHONE},
        {"providerId": "x", "otp": "1", "data": [{"key": 1}]},
        {"providerId": "x", "otp": "1", "data": {"key": "a"}},
    ],
)
def test_create_validates_field_types(client: FlaskClient, body: dict[str, Any]) -> None:
    error(client.post(CREATE, json=body, headers=auth(client)), 400, "invalid_parameter")


def test_create_validates_phone_and_email(client: FlaskClient) -> None:
    h = auth(client)
    base = {"providerId": "sandbox-bank-at", "otp": "123456"}
    error(
        client.post(CREATE, json=base, headers=h),
        401,
        "unauthorized",
        "email_or_phone_number_required",
    )
    bad_phone = client.post(CREATE, json={**base, "msisdn": "0660123"}, headers=h)
    error(bad_phone, 400, "invalid_parameter", "phone_number_start_with_plus_and_country")
    bad_mail = client.post(CREATE, json={**base, "email": "anna@"}, headers=h)
    error(bad_mail, 400, "invalid_parameter", "email_invalid")


def test_create_refuses_an_unknown_provider(client: FlaskClient) -> None:
    h = auth(client)
    otp = login(client, h, msisdn=PHONE)
    body = {"providerId": "real-bank", "otp": otp, "msisdn": PHONE}
    assert (
        "real-bank"
        in error(client.post(CREATE, json=body, headers=h), 400, "invalid_parameter")[
            "errorMessage"
        ]
    )
    body["providerId"] = "sandbox-bank-at"  # the OTP was not spent by the refused request
    assert client.post(CREATE, json=body, headers=h).status_code == 201


def test_create_before_any_login_is_not_registered(client: FlaskClient) -> None:
    body = {"providerId": "sandbox-bank-at", "otp": "123456", "msisdn": PHONE}
    response = client.post(CREATE, json=body, headers=auth(client))
    error(response, 401, "unauthorized", "phone_or_email_not_registered")


def test_a_wrong_otp_is_an_invalid_pin(client: FlaskClient) -> None:
    h = auth(client)
    otp = login(client, h, msisdn=PHONE)
    wrong = "000000" if otp != "000000" else "111111"
    body = {"providerId": "sandbox-bank-at", "otp": wrong, "msisdn": PHONE}
    error(client.post(CREATE, json=body, headers=h), 401, "unauthorized", "invalid_pin")
    body["otp"] = otp
    assert client.post(CREATE, json=body, headers=h).status_code == 201


def test_an_otp_is_single_use(client: FlaskClient) -> None:
    h = auth(client)
    otp = login(client, h, msisdn=PHONE, email="anna@example.com")
    body = {"providerId": "sandbox-bank-at", "otp": otp, "msisdn": PHONE}
    assert client.post(CREATE, json=body, headers=h).status_code == 201
    error(client.post(CREATE, json=body, headers=h), 401, "unauthorized", "invalid_pin")
    by_mail = {"providerId": "sandbox-bank-at", "otp": otp, "email": "anna@example.com"}
    error(client.post(CREATE, json=by_mail, headers=h), 401, "unauthorized", "invalid_pin")


def test_an_otp_lasts_300_seconds(client: FlaskClient) -> None:
    h = auth(client)
    otp = login(client, h, msisdn=PHONE)
    advance(client, "PT5M")
    body = {"providerId": "sandbox-bank-at", "otp": otp, "msisdn": PHONE}
    error(client.post(CREATE, json=body, headers=auth(client)), 401, "unauthorized", "invalid_pin")


def test_a_new_login_replaces_the_otp_and_email_logins_work(client: FlaskClient) -> None:
    h = auth(client)
    first = login(client, h, email="anna@example.com")
    second = login(client, h, email="anna@example.com")
    body = {"providerId": "sandbox-bank-at", "otp": first, "email": "ANNA@example.com"}
    if first != second:
        error(client.post(CREATE, json=body, headers=h), 401, "unauthorized", "invalid_pin")
    body["otp"] = second
    response = client.post(CREATE, json=body, headers=h)
    assert response.status_code == 201 and json_of(response)["owner"] == {
        "email": "ANNA@example.com"
    }


def test_otps_belong_to_the_tenant_that_logged_in(client: FlaskClient) -> None:
    otp = login(client, auth(client), msisdn=PHONE)
    body = {"providerId": "sandbox-bank-at", "otp": otp, "msisdn": PHONE}
    response = client.post(CREATE, json=body, headers=auth(client, "tenant-b"))
    error(response, 401, "unauthorized", "phone_or_email_not_registered")


# -- adding consent data and the status flow ------------------------------------------------------
def test_supplying_the_data_makes_the_consent_received_with_a_bank_page(
    client: FlaskClient,
) -> None:
    h = auth(client)
    consent = create(client, h)
    advance(client, "PT1M")
    h = auth(client)
    response = add(client, h, consent["consentId"], iban="RO66BACX0000001234567890")
    assert response.status_code == 200
    body = json_of(response)
    assert body["status"] == "received" and body["modified"] == "2026-01-05T09:31:00Z"
    iban, redirect = body["consentData"]
    assert iban["name"] == "iban" and iban["value"] == "RO66BACX0000001234567890"
    assert redirect["name"] == "redirect"
    page = f"http://localhost/__sandbox/fliqa/bank/{consent['consentId']}/"
    assert redirect["value"].startswith(page) and len(redirect["value"]) >= len(page) + 32
    assert client.get(redirect["value"]).status_code == 200


def test_a_bank_asking_for_two_items_is_started_then_received(client: FlaskClient) -> None:
    h = auth(client)
    consent_id = create(client, h, "sandbox-bank-de")["consentId"]
    first = add(client, h, consent_id, select="savings")
    assert first.status_code == 200 and json_of(first)["status"] == "started"
    assert [i.get("value") for i in json_of(first)["consentData"]] == [None, "savings"]
    assert json_of(client.get(f"{CONSENTS}/{consent_id}", headers=h))["status"] == "started"
    second = add(client, h, consent_id, iban="DE89 3704 0044 0532 0130 00")
    assert json_of(second)["status"] == "received"
    assert [i["name"] for i in json_of(second)["consentData"]] == ["iban", "select", "redirect"]


def test_secret_items_are_stored_but_not_echoed(client: FlaskClient) -> None:
    h = auth(client)
    consent_id = create(client, h, "sandbox-bank-si")["consentId"]
    response = add(client, h, consent_id, username="anna", password="hunter2", otp="4711")
    assert json_of(response)["status"] == "received"
    values = {i["name"]: i["value"] for i in json_of(response)["consentData"]}
    assert values["username"] == "anna"
    assert values["password"] == values["otp"] == "********"
    assert "hunter2" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "items",
    [
        [{"name": "iban", "value": "AT611904300234573202"}],
        [{"name": "iban", "value": "not an iban"}],
        [{"name": "iban", "value": " "}],
        [{"name": "redirect", "value": "https://evil.example"}],
        [{"name": "username", "value": "anna"}],
        [{"name": "select", "value": "everything"}],
        [{"name": "select", "value": "all"}, {"name": "select", "value": "current"}],
        [{"name": "select", "value": "all"}, {"name": "password", "value": "x"}],
    ],
)
def test_add_data_refuses_what_the_consent_does_not_ask_for(
    client: FlaskClient, items: list[dict[str, str]]
) -> None:
    h = auth(client)
    consent = create(client, h, "sandbox-bank-de")
    response = client.post(f"{CREATE}/{consent['consentId']}", json=items, headers=h)
    assert error(response, 400, "invalid_parameter")["resourceId"] == consent["consentId"]
    after = json_of(client.get(f"{CONSENTS}/{consent['consentId']}", headers=h))
    assert after["status"] == "initiated" and after["modified"] == consent["modified"]


@pytest.mark.parametrize(
    "items", [[{"name": "pin", "value": "1"}], [{"name": "iban"}], {"name": "iban", "value": "x"}]
)
def test_add_data_body_is_validated(client: FlaskClient, items: Any) -> None:
    h = auth(client)
    consent_id = create(client, h)["consentId"]
    error(client.post(f"{CREATE}/{consent_id}", json=items, headers=h), 400, "invalid_parameter")


def test_an_empty_list_changes_nothing(client: FlaskClient) -> None:
    h = auth(client)
    consent = create(client, h)
    response = client.post(f"{CREATE}/{consent['consentId']}", json=[], headers=h)
    assert response.status_code == 200 and response.json == consent


def test_a_received_consent_accepts_no_more_data(client: FlaskClient) -> None:
    h = auth(client)
    consent_id = create(client, h)["consentId"]
    assert add(client, h, consent_id, iban="AT611904300234573201").status_code == 200
    body = error(add(client, h, consent_id, iban="AT611904300234573201"), 400, "not_allowed")
    assert body["resourceId"] == consent_id and "received" in body["errorMessage"]
    error(client.post(f"{CREATE}/{consent_id}", json=[], headers=h), 400, "not_allowed")


def test_consents_of_other_tenants_are_not_found(client: FlaskClient) -> None:
    consent_id = create(client, auth(client))["consentId"]
    other = auth(client, "tenant-b")
    body = error(client.get(f"{CONSENTS}/{consent_id}", headers=other), 404, "not_found")
    assert body["resourceId"] == consent_id
    error(add(client, other, consent_id, iban="AT611904300234573201"), 404, "not_found")
    error(client.get(f"{CONSENTS}/nope", headers=other), 404, "not_found")


def test_a_valid_consent_expires_at_valid_until(client: FlaskClient) -> None:
    h = auth(client)
    consent = admin_consent(client, status="valid")
    assert consent["validUntil"] == "2026-04-05T09:30:00Z"
    advance(client, "P89DT23H59M")
    h = auth(client)
    assert json_of(client.get(f"{CONSENTS}/{consent['consentId']}", headers=h))["status"] == "valid"
    advance(client, "PT1M")
    h = auth(client)
    after = json_of(client.get(f"{CONSENTS}/{consent['consentId']}", headers=h))
    assert after["status"] == "expired" and after["modified"] == "2026-04-05T09:30:00Z"
    listed = json_of(client.get(f"{CONSENTS}?status=expired", headers=h))["data"]
    assert [c["consentId"] for c in listed] == [consent["consentId"]]


def test_only_valid_consents_expire(client: FlaskClient) -> None:
    received = admin_consent(client, status="received")
    advance(client, "P100D")
    h = auth(client)
    assert (
        json_of(client.get(f"{CONSENTS}/{received['consentId']}", headers=h))["status"]
        == "received"
    )


# -- the sandbox bank page (test client; the browser test is test_sandbox_fliqa.py) ---------------
def bank_link(consent: dict[str, Any]) -> str:
    """The bank page of a consent the API or the admin API answered, with its bank key."""
    value: str = next(i for i in consent["consentData"] if i["name"] == "redirect")["value"]
    return urlsplit(value).path


def _open_bank(client: FlaskClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    return html.split("name='journey' value='")[1].split("'")[0]


@pytest.mark.parametrize(
    ("decision", "status"), [("approve", "valid"), ("reject", "rejected"), ("error", "failed")]
)
def test_the_bank_page_decides_and_redirects(
    client: FlaskClient, decision: str, status: str
) -> None:
    h = auth(client)
    consent_id = create(client, h)["consentId"]
    bank = json_of(add(client, h, consent_id, iban="AT611904300234573201"))["consentData"][-1][
        "value"
    ]
    journey = _open_bank(client, f"{bank}?redirectUrl=https://client.example/done?x=1")
    response = client.post(f"{bank}/decision", data={"journey": journey, "decision": decision})
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert target.netloc == "client.example" and target.path == "/done"
    assert parse_qs(target.query) == {"x": ["1"], "consentId": [consent_id], "status": [status]}
    assert json_of(client.get(f"{CONSENTS}/{consent_id}", headers=h))["status"] == status
    again = client.post(f"{bank}/decision", data={"journey": journey, "decision": decision})
    assert again.status_code == 403


def test_the_bank_page_without_a_redirect_url_says_done(client: FlaskClient) -> None:
    consent = admin_consent(client, status="received")
    url = bank_link(consent)
    journey = _open_bank(client, url)
    done = client.post(f"{url}/decision", data={"journey": journey, "decision": "approve"})
    assert done.status_code == 200 and "valid" in done.get_data(as_text=True)


def test_a_bank_that_asks_for_nothing_opens_the_page_at_once(client: FlaskClient) -> None:
    h = auth(client)
    consent = create(client, h, "sandbox-bank-ro")
    (redirect,) = consent["consentData"]
    journey = _open_bank(client, redirect["value"])
    client.post(f"{redirect['value']}/decision", data={"journey": journey, "decision": "approve"})
    assert json_of(client.get(f"{CONSENTS}/{consent['consentId']}", headers=h))["status"] == "valid"


def test_the_bank_page_refuses_what_it_cannot_do(client: FlaskClient) -> None:
    pending = admin_consent(client, status="initiated")  # owes an IBAN: no bank link yet
    assert client.get(f"/__sandbox/fliqa/bank/{pending['consentId']}").status_code == 403
    opened = admin_consent(client, status="initiated", providerId="sandbox-bank-ro")
    assert client.get(bank_link(opened)).status_code == 200
    valid = admin_consent(client, status="valid")
    assert client.get(bank_link(valid)).status_code == 409
    assert client.get("/__sandbox/fliqa/bank/nope/key").status_code == 404
    received = admin_consent(client, status="received")
    url = bank_link(received)
    assert client.get(f"{url}?redirectUrl=javascript:alert(1)").status_code == 400
    journey = _open_bank(client, url)
    unknown = client.post(f"{url}/decision", data={"journey": journey, "decision": "maybe"})
    assert unknown.status_code == 400
    forged = client.post(f"{url}/decision", data={"journey": "forged", "decision": "approve"})
    assert forged.status_code == 403


# -- list -----------------------------------------------------------------------------------------
@pytest.fixture
def listed(client: FlaskClient) -> dict[str, str]:
    made = {
        "at": admin_consent(
            client,
            providerId="sandbox-bank-at",
            owner={"msisdn": PHONE},
            data=[{"key": "customer_id", "value": "c-1"}, {"key": "basket_id", "value": "b-9"}],
            status="valid",
        ),
        "de": admin_consent(
            client,
            providerId="sandbox-bank-de",
            owner={"email": "Anna@Example.com"},
            data=[{"key": "customer_id", "value": "c-2"}],
            scope="accounts",
            created="2025-12-01T00:00:00Z",
        ),
        "si": admin_consent(
            client,
            providerId="sandbox-bank-si",
            owner={"msisdn": "+38640123456", "email": "bor@example.si"},
            data=[{"key": "basket_id", "value": "c-1"}],
            status="rejected",
            created="2025-11-01T00:00:00Z",
        ),
        "other": admin_consent(client, tenant="tenant-b", owner={"msisdn": PHONE}),
    }
    return {name: consent["consentId"] for name, consent in made.items()}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["at", "de", "si"]),
        ("?msisdn=%2B43660123456", ["at"]),
        ("?msidsn=%2B38640123456", ["si"]),
        ("?msisdn=%2B43660123456&msidsn=%2B38640123456", []),
        ("?email=anna@example.com", ["de"]),
        ("?validFrom=2025-12-01T00:00:00Z", ["at", "de"]),
        ("?validUntil=2026-03-01T00:00:00Z", ["de", "si"]),
        ("?providerName=sandbox-bank-si", ["si"]),
        ("?country=de", ["de"]),
        ("?status=valid", ["at"]),
        ("?status=expired", []),
        ("?scope=accounts", ["de"]),
        ("?dataKey=customer_id", ["at", "de"]),
        ("?dataValue=c-1", ["at", "si"]),
        ("?dataKey=basket_id&dataValue=c-1", ["si"]),
        ("?dataKey=customer_id&dataValue=b-9", []),
        ("?status=valid&country=AT&dataKey=basket_id", ["at"]),
    ],
)
def test_list_filters(
    client: FlaskClient, listed: dict[str, str], query: str, expected: list[str]
) -> None:
    response = client.get(f"{CONSENTS}{query}", headers=auth(client))
    assert response.status_code == 200
    assert [c["consentId"] for c in json_of(response)["data"]] == [listed[n] for n in expected]
    assert json_of(response)["metadata"] == {
        "total": len(expected),
        "limit": 20,
        "next_cursor": None,
    }
    assert all("consentData" not in c for c in json_of(response)["data"])


def test_list_by_inquiry(client: FlaskClient, listed: dict[str, str]) -> None:
    h = auth(client)
    inquiry = json_of(client.get(f"{CONSENTS}/{listed['at']}", headers=h))["inquiryId"]
    assert len(json_of(client.get(f"{CONSENTS}?inquiryId={inquiry}", headers=h))["data"]) == 3
    error(client.get(f"{CONSENTS}?inquiryId=unknown", headers=h), 404, "not_found")
    other = client.get(f"{CONSENTS}?inquiryId={inquiry}", headers=auth(client, "tenant-b"))
    error(other, 404, "not_found")


def test_list_pages_with_a_cursor(client: FlaskClient) -> None:
    ids = [
        admin_consent(client, created=f"2025-12-0{day}T00:00:00Z")["consentId"]
        for day in range(1, 6)
    ]
    h = auth(client)
    seen: list[str] = []
    cursor = ""
    for expected in (2, 2, 1):
        page = json_of(client.get(f"{CONSENTS}?limit=2{cursor}", headers=h))
        assert len(page["data"]) == expected and page["metadata"]["total"] == 5
        seen += [c["consentId"] for c in page["data"]]
        cursor = f"&cursor={page['metadata']['next_cursor']}"
    assert page["metadata"]["next_cursor"] is None
    assert seen == ids[::-1]
    error(client.get(f"{CONSENTS}?cursor=forged", headers=h), 400, "invalid_parameter")
    blank = json_of(client.get(f"{CONSENTS}?limit=2&cursor=", headers=h))["data"]
    assert [c["consentId"] for c in blank] == seen[:2]
    first = json_of(client.get(f"{CONSENTS}?limit=1", headers=h))["metadata"]["next_cursor"]
    foreign = client.get(f"{CONSENTS}?cursor={first}", headers=auth(client, "tenant-b"))
    error(foreign, 400, "invalid_parameter")


@pytest.mark.parametrize(
    "query",
    [
        "status=active",
        "scope=payments",
        "validFrom=yesterday",
        "validUntil=2026-01-01",
        "limit=0",
        "limit=101",
        "limit=x",
    ],
)
def test_list_refuses_bad_filters(client: FlaskClient, query: str) -> None:
    error(client.get(f"{CONSENTS}?{query}", headers=auth(client)), 400, "invalid_parameter")


# -- errors of the engine in Fliqa's format --------------------------------------------------------
def test_engine_errors_use_fliqas_error_body(client: FlaskClient) -> None:
    h = auth(client)
    broken = client.post(LOGIN, data="{", content_type="application/json", headers=h)
    assert "not valid JSON" in error(broken, 400, "bad_request")["errorMessage"]
    xml = client.post(LOGIN, data="<a/>", content_type="application/xml", headers=h)
    error(xml, 415, "bad_request")
    error(client.get("/fliqa/service/consents", headers=h), 404, "not_found")
    wrong = client.delete(f"{CONSENTS}/123", headers=h)
    error(wrong, 405, "not_allowed")
    assert wrong.headers["Allow"] == "GET"
    no_body = client.post(LOGIN, headers=h)
    error(no_body, 400, "invalid_parameter")


def test_the_journal_masks_secrets(client: FlaskClient) -> None:
    h = auth(client)
    otp = login(client, h, msisdn=PHONE)
    client.post(
        CREATE, json={"providerId": "sandbox-bank-at", "otp": otp, "msisdn": PHONE}, headers=h
    )
    entries = json_of(client.get("/__admin/requests?provider=fliqa"))["requests"]
    text = str(entries)
    assert otp not in text and "secret-tenant-a" not in text and "tenant-a" not in text
    assert h["Authorization"][7:] not in text
    created = next(e for e in entries if e["operation"] == "createConsent")
    assert created["body"]["otp"].startswith("****") and created["tenant"].startswith("sha256:")


# -- admin API, fixtures and factories -------------------------------------------------------------
@pytest.mark.parametrize("status", STATUSES)
def test_admin_creates_consents_in_every_status(client: FlaskClient, status: str) -> None:
    made = admin_consent(client, status=status, providerId="sandbox-bank-de")
    assert made["status"] == status
    shown = json_of(client.get(f"{CONSENTS}/{made['consentId']}", headers=auth(client)))
    assert shown["status"] == status
    assert shown["validUntil"] == (
        "2026-01-05T09:30:00Z" if status == "expired" else "2026-04-05T09:30:00Z"
    )
    owed = [i for i in made["consentData"] if "value" not in i]
    has_bank_page = any(i["name"] == "redirect" for i in made["consentData"])
    if status in ("initiated", "started"):
        assert owed and not has_bank_page
    if status in ("received", "valid", "partially_authorised", "expired"):
        assert not owed and has_bank_page


def test_admin_transitions_follow_the_lifecycle(client: FlaskClient) -> None:
    consent_id = admin_consent(client)["consentId"]
    url = f"/__admin/fliqa/consents/{consent_id}/status"
    refused = client.post(url, json={"status": "valid"})
    assert refused.status_code == 409
    assert json_of(refused)["allowed"] == ["started", "rejected", "failed"]
    for status in ("started", "received", "partially_authorised", "valid", "revoked_by_psu"):
        moved = client.post(url, json={"status": status})
        assert moved.status_code == 200 and json_of(moved)["status"] == status
    final = client.post(url, json={"status": "valid"})
    assert final.status_code == 409 and json_of(final)["allowed"] == []
    assert client.post(url, json={"status": "bogus"}).status_code == 400
    other = admin_consent(client)["consentId"]
    options = client.post(
        f"/__admin/fliqa/consents/{other}/status", json={"status": "started", "x": 1}
    )
    assert options.status_code == 400


def test_every_status_has_transitions_declared() -> None:
    assert set(TRANSITIONS) == set(STATUSES) and next(iter(TRANSITIONS)) == "initiated"
    for targets in TRANSITIONS.values():
        assert set(targets) <= set(STATUSES)


@pytest.mark.parametrize(
    "fields",
    [
        {"providerId": "real-bank"},
        {"owner": {"msisdn": "0660"}},
        {"owner": "x"},
        {"scope": "payments"},
        {"country": "aut"},
        {"data": [{"key": 1}]},
        {"created": "yesterday"},
        {"consentId": "has spaces"},
        {"colour": "blue"},
    ],
)
def test_admin_refuses_bad_fields(client: FlaskClient, fields: dict[str, Any]) -> None:
    response = client.post("/__admin/fliqa/consents", json={"tenant": "tenant-a", **fields})
    assert response.status_code == 400


def test_factory_consents_are_accepted_by_the_admin_api(client: FlaskClient) -> None:
    h = auth(client)
    for fields in make_consents("fliqa", 12, seed=3):
        made = admin_consent(client, **fields)
        assert (
            json_of(client.get(f"{CONSENTS}/{made['consentId']}", headers=h))["status"]
            == fields["status"]
        )
    assert make_consents("fliqa", 3, seed=3) == make_consents("fliqa", 3, seed=3)


def test_the_default_fixture_tenant_has_every_status(clock: SimClock) -> None:
    app = create_app(["fliqa"], strict=True, clock=clock, fixtures=ROOT / "fixtures")
    client = app.test_client()
    first_line = (ROOT / "fixtures" / "fliqa.yaml").read_text().splitlines()[0]
    assert first_line.startswith("#") and "sandbox-fliqa-secret" in first_line
    token = get_token(client, "sandbox-fliqa-key", "sandbox-fliqa-secret", "sandbox", "sandbox")
    assert token.status_code == 200
    error(get_token(client, "sandbox-fliqa-key", "wrong"), 401, "unauthorized", "not_authorized")
    h = {"Authorization": f"Bearer {json_of(token)['accessToken']}"}
    listed = json_of(client.get(f"{CONSENTS}?limit=100", headers=h))["data"]
    assert {c["status"] for c in listed} == set(STATUSES)
    received = next(c for c in listed if c["status"] == "received")
    seen = json_of(client.get(f"/__admin/fliqa/consents/{received['consentId']}"))
    journey = _open_bank(client, bank_link(seen["consent"]))
    assert journey


def test_iban_check() -> None:
    assert iban_ok("RO66BACX0000001234567890") and iban_ok("de89 3704 0044 0532 0130 00")
    assert not iban_ok("RO66BACX0000001234567891") and not iban_ok("RO66")


def test_the_clock_fixture_starts_at_t0(clock: SimClock) -> None:
    assert clock.now() == T0
