"""Fliqa as FACTS-2 §2.2 documents it: providerId, locale, the consent inquiry, the list's
query names and its cursor paging (over HTTP, Flask's test client, strict responses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from test_fliqa import CONSENTS, CREATE, LOGIN, PHONE, admin_consent, auth, error, login, outbox

from mockserver import SimClock, create_app

from tests_helpers import json_of

ROOT = Path(__file__).resolve().parent.parent
INQUIRY = "/fliqa/service/inquiry"


@pytest.fixture
def app(clock: SimClock) -> Iterator[Flask]:
    application = create_app(["fliqa"], strict=True, clock=clock)
    application.testing = True
    yield application


def seed(client: FlaskClient, tenant: str, **credentials: Any) -> None:
    document = {"provider": "fliqa", "tenants": [{"tenant": tenant, "credentials": credentials}]}
    response = client.post("/__admin/seed", json=document)
    assert response.status_code in (200, 201), response.json


# -- providerId and locale ------------------------------------------------------------------------
def test_create_takes_providerid_and_locale(client: FlaskClient) -> None:
    h = auth(client)
    otp = login(client, h, msisdn=PHONE)
    body = {"providerId": "sandbox-bank-de", "otp": otp, "msisdn": PHONE}
    response = client.post(f"{CREATE}?locale=de", json=body, headers=h)
    assert response.status_code == 201, response.json
    made = json_of(response)
    assert made["providerId"] == "sandbox-bank-de" and made["locale"] == "de"


def test_the_old_language_parameter_is_not_read(client: FlaskClient) -> None:
    """FACTS-2 §2.2 overturns `language`: it is not kept as an alias."""
    h = auth(client)
    otp = login(client, h, msisdn=PHONE)
    body = {"providerId": "sandbox-bank-at", "otp": otp, "msisdn": PHONE}
    assert json_of(client.post(f"{CREATE}?language=de", json=body, headers=h))["locale"] == "en"
    client.post(f"{LOGIN}?language=de", json={"email": "a@example.com"}, headers=h)
    assert outbox(client, "?email=a@example.com")[0]["language"] == "en"


@pytest.mark.parametrize(("locale", "word"), [("de", "Bestätigungscode"), ("SL", "potrditvena")])
def test_login_texts_follow_locale(client: FlaskClient, locale: str, word: str) -> None:
    response = client.post(f"{LOGIN}?locale={locale}", json={"msisdn": PHONE}, headers=auth(client))
    assert response.status_code == 200
    (message,) = outbox(client)
    assert word in message["text"] and message["language"] == locale.lower()


# -- the consent inquiry --------------------------------------------------------------------------
def test_a_consent_names_its_inquiry_and_the_inquiry_is_served(client: FlaskClient) -> None:
    h = auth(client)
    otp = login(client, h, msisdn=PHONE)
    body = {"providerId": "sandbox-bank-at", "otp": otp, "msisdn": PHONE}
    made = json_of(client.post(CREATE, json=body, headers=h))
    response = client.get(f"{INQUIRY}/{made['inquiryId']}", headers=h)
    assert response.status_code == 200
    assert json_of(response) == {
        "id": made["inquiryId"],
        "status": "active",
        "name": made["name"],
        "displayName": "Account ownership check",
        "description": made["description"],
        "scope": made["scope"],
        "frequency": "once",
        "tenant": {
            "name": "acme",  # the tenant slug the key was bound to
            "companyName": "Sandbox Tenant GmbH",
            "addressStreet": "Sandbox Street",
            "addressStreetNumber": "1",
            "addressCity": "Vienna",
            "addressZipCode": "1010",
            "addressCountry": "AT",
        },
    }


def test_an_unknown_or_foreign_inquiry_is_the_documented_400(client: FlaskClient) -> None:
    mine = admin_consent(client)["inquiryId"]
    body = error(client.get(f"{INQUIRY}/nope", headers=auth(client)), 400, "invalid_parameter")
    assert body["resourceId"] == "nope"
    error(
        client.get(f"{INQUIRY}/{mine}", headers=auth(client, "tenant-b")), 400, "invalid_parameter"
    )
    no_token = client.get(f"{INQUIRY}/{mine}")
    error(no_token, 401, "unauthorized", "authorization_header_must_be_provided")


def test_seeded_inquiries_and_company(client: FlaskClient) -> None:
    inquiries = [{"id": "loan-1", "name": "Loan", "scope": "balances", "frequency": "daily"}]
    company = {"companyName": "Acme d.o.o.", "addressCity": "Ljubljana", "addressCountry": "SI"}
    seed(
        client,
        "tenant-a",
        apiSecret="secret-tenant-a",
        tenantSlug="acme",
        inquiries=inquiries,
        company=company,
    )
    h = auth(client)
    shown = json_of(client.get(f"{INQUIRY}/loan-1", headers=h))
    assert (shown["scope"], shown["frequency"], shown["status"]) == ("balances", "daily", "active")
    assert shown["tenant"]["name"] == "acme"
    assert shown["tenant"]["companyName"] == "Acme d.o.o."
    assert shown["tenant"]["addressStreet"] == "Sandbox Street"  # a default where not given
    made = admin_consent(client, inquiryId="loan-1")
    assert (made["inquiryId"], made["scope"], made["name"]) == ("loan-1", "balances", "Loan")
    listed = json_of(client.get(f"{CONSENTS}?inquiryId=loan-1", headers=h))["data"]
    assert [c["consentId"] for c in listed] == [made["consentId"]]


@pytest.mark.parametrize(
    "credentials",
    [
        {"inquiries": [{"id": "x", "frequency": "weekly"}]},
        {"inquiries": [{"id": "x", "colour": "red"}]},
        {"inquiries": [{"name": "no id"}]},
        {"inquiries": {"id": "x"}},
        {"company": {"companyName": 1}},
        {"company": {"vat": "x"}},
    ],
)
def test_bad_inquiry_seeds_are_refused(client: FlaskClient, credentials: dict[str, Any]) -> None:
    document = {
        "provider": "fliqa",
        "tenants": [
            {"tenant": "t", "credentials": {"apiSecret": "s", "tenantSlug": "t", **credentials}}
        ],
    }
    response = client.post("/__admin/seed", json=document)
    assert response.status_code == 400, response.json


def test_admin_consents_name_only_known_inquiries(client: FlaskClient) -> None:
    response = client.post("/__admin/fliqa/consents", json={"tenant": "tenant-a", "inquiryId": "x"})
    assert response.status_code == 400
    assert "inquiries" in str(json_of(response))


def test_the_default_fixtures_seed_inquiries(clock: SimClock) -> None:
    client = create_app(
        ["fliqa"], strict=True, clock=clock, fixtures=ROOT / "fixtures"
    ).test_client()
    token = client.get(
        "/fliqa/service/auth/token/sandbox/sandbox",
        headers={"Api-Key": "sandbox-fliqa-key", "Api-Secret": "sandbox-fliqa-secret"},
    )
    h = {"Authorization": f"Bearer {json_of(token)['accessToken']}"}
    daily = json_of(client.get(f"{INQUIRY}/0f1a1000000000000000000000000002", headers=h))
    assert daily["frequency"] == "daily" and daily["scope"] == "transactions"
    inactive = json_of(client.get(f"{INQUIRY}/0f1a1000000000000000000000000003", headers=h))
    assert inactive["status"] == "inactive"
    listed = client.get(f"{CONSENTS}?inquiryId=0f1a1000000000000000000000000002", headers=h)
    assert [c["status"] for c in json_of(listed)["data"]] == ["terminated_by_tpp"]


# -- the list: documented names and the cursor ----------------------------------------------------
def test_the_documented_msidsn_filters_by_phone(client: FlaskClient) -> None:
    mine = admin_consent(client, owner={"msisdn": PHONE})["consentId"]
    admin_consent(client, owner={"msisdn": "+38640123456"})
    h = auth(client)
    for name in ("msidsn", "msisdn"):
        data = json_of(client.get(f"{CONSENTS}?{name}=%2B43660123456", headers=h))["data"]
        assert [c["consentId"] for c in data] == [mine], name


def test_next_cursor_pages_through_everything(client: FlaskClient) -> None:
    made = {admin_consent(client)["consentId"] for _ in range(5)}
    h, seen, query = auth(client), [], "limit=2"
    while True:
        page = json_of(client.get(f"{CONSENTS}?{query}", headers=h))
        assert set(page["metadata"]) == {"next_cursor", "total", "limit"}
        seen += [c["consentId"] for c in page["data"]]
        if page["metadata"]["next_cursor"] is None:
            break
        query = f"limit=2&cursor={page['metadata']['next_cursor']}"
    assert sorted(seen) == sorted(made) and len(seen) == 5
