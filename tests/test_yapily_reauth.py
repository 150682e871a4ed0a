"""Yapily: re-authorisation (PATCH), pre-authorisation's continuation (PUT), forceDelete, and
the journey pages' access keys, through Flask's test client with strict response checks."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from test_yapily import CALLBACK, admin_consent, consent, decide, h, legacy_error, start

from mockserver import SimClock, create_app
from mockserver.providers.yapily.consent import verify_token

from tests_helpers import json_of

AAR = "/yapily/account-auth-requests"


@pytest.fixture
def client(clock: SimClock) -> Iterator[FlaskClient]:
    application: Flask = create_app(["yapily"], strict=True, clock=clock)
    application.testing = True
    yield application.test_client()


def approved(client: FlaskClient, **body: Any) -> dict[str, Any]:
    started = start(client, callback=CALLBACK, **body)
    decide(client, started, "approve")
    return consent(client, started["id"])


def reauthorise(client: FlaskClient, token: str, app_id: str = "app-a") -> Any:
    return client.patch(AAR, headers={**h(app_id), "consent": token})


def test_reauthorisation_keeps_id_and_token_and_authorises_again(client: FlaskClient) -> None:
    first = approved(client, accountRequest={"expiresAt": "2026-02-01T00:00:00Z"})
    response = reauthorise(client, first["consentToken"])
    assert response.status_code == 201 and "Location" not in response.headers
    data = json_of(response)["data"]
    assert data["id"] == first["id"] and data["status"] == "AWAITING_RE_AUTHORIZATION"
    assert data["authorizedAt"] == first["authorizedAt"] and data["state"] == first["state"]
    assert "access=" in data["authorisationUrl"] and "access=" in data["qrCodeUrl"]
    assert consent(client, first["id"])["status"] == "AWAITING_RE_AUTHORIZATION"
    client.post("/__admin/clock", json={"advance": "PT2H"})
    landed = decide(client, data, "approve")
    assert parse_qs(urlsplit(landed).query)["consent"] == [first["consentToken"]]
    again = consent(client, first["id"])
    assert again["status"] == "AUTHORIZED" and again["consentToken"] == first["consentToken"]
    assert again["authorizedAt"] == "2026-01-05T11:30:00.000Z"
    # a new 90-day period: the first request's hard end (1 February) no longer applies
    assert again["expiresAt"] == again["reconfirmBy"] == "2026-04-05T11:30:00.000Z"
    assert verify_token(again["consentToken"])["CONSENT"] == first["id"]  # type: ignore[index]


def test_an_expired_consent_can_be_reauthorised_and_a_rejection_leaves_it_expired(
    client: FlaskClient,
) -> None:
    made = admin_consent(client, status="EXPIRED", callback=CALLBACK)
    token = consent(client, made["id"])["consentToken"]
    data = json_of(reauthorise(client, token))["data"]
    repeat = json_of(reauthorise(client, token))["data"]  # a repeat: a new journey, same status
    assert repeat["status"] == "AWAITING_RE_AUTHORIZATION"
    assert repeat["authorisationUrl"] != data["authorisationUrl"]
    landed = decide(client, repeat, "reject")
    assert parse_qs(urlsplit(landed).query)["error"] == ["access_denied"]
    assert consent(client, made["id"])["status"] == "EXPIRED"


def test_a_failed_reauthorisation_of_an_authorised_consent_leaves_it_authorised(
    client: FlaskClient,
) -> None:
    first = approved(client)
    reauthorise(client, first["consentToken"])
    moved = client.post(f"/__admin/yapily/consents/{first['id']}/status", json={"status": "FAILED"})
    assert moved.status_code == 200, moved.json
    assert consent(client, first["id"])["status"] == "AUTHORIZED"
    reauthorise(client, first["consentToken"])
    assert client.post(f"/__admin/yapily/consents/{first['id']}/reject").status_code == 200
    assert consent(client, first["id"])["status"] == "AUTHORIZED"


@pytest.mark.parametrize(
    "path",
    [
        ("AUTHORIZED", "REVOKED"),
        ("AUTHORIZED", "CONSUMED"),
        ("PRE_AUTHORIZED", "AWAITING_AUTHORIZATION"),  # a pre-authorisation gave it a token
        ("PRE_AUTHORIZED", "AWAITING_AUTHORIZATION", "REJECTED"),
        ("PRE_AUTHORIZED", "AWAITING_AUTHORIZATION", "FAILED"),
    ],
)
def test_reauthorisation_is_refused_for_other_statuses(
    client: FlaskClient, path: tuple[str, ...]
) -> None:
    first = consent(client, admin_consent(client, status=path[0])["id"])
    for status in path[1:]:
        moved = client.post(
            f"/__admin/yapily/consents/{first['id']}/status", json={"status": status}
        )
        assert moved.status_code == 200, moved.json
    status = path[-1]
    error = legacy_error(reauthorise(client, first["consentToken"]), 400)
    assert error["message"] == (
        f"Consent status {status} cannot be re-authorised; it must be AUTHORIZED or EXPIRED"
    )
    assert consent(client, first["id"])["status"] == status


def test_reauthorisation_needs_a_token_of_this_application(client: FlaskClient) -> None:
    first = approved(client)
    # A signature part outside ASCII (a header is Latin-1 text) is a wrong token, not a 500.
    for token in ("not-a-token", first["consentToken"][:-2] + "xx", "a.b.\u00e9"):
        error = legacy_error(reauthorise(client, token), 404)
        assert error["message"] == "No consent of this application has this consent token"
    legacy_error(reauthorise(client, first["consentToken"], "app-b"), 404)
    legacy_error(client.patch(AAR, headers=h()), 400)  # no header at all
    assert client.patch(AAR, headers={"consent": first["consentToken"]}).status_code == 401
    assert consent(client, first["id"])["status"] == "AUTHORIZED"


def pre_authorised(client: FlaskClient) -> dict[str, Any]:
    made = admin_consent(client, status="PRE_AUTHORIZED", applicationUserId="user-1")
    return consent(client, made["id"])


def test_pre_authorisation_continues_to_a_decoupled_authorisation(client: FlaskClient) -> None:
    pre = pre_authorised(client)
    body = {
        "applicationUserId": "user-1",
        "institutionId": pre["institutionId"],
        "accountRequest": {"featureScope": ["ACCOUNTS"], "transactionFrom": "2025-01-01T00:00:00Z"},
    }
    response = client.put(AAR, json=body, headers={**h(), "consent": pre["consentToken"]})
    assert response.status_code == 200, response.json
    data = json_of(response)["data"]
    assert data["id"] == pre["id"] and data["status"] == "AWAITING_DECOUPLED_AUTHORIZATION"
    assert "authorisationUrl" not in data and data["featureScope"] == ["ACCOUNTS"]
    assert data["transactionFrom"] == "2025-01-01T00:00:00.000Z"
    assert client.post(f"/__admin/yapily/consents/{pre['id']}/approve").status_code == 200
    assert consent(client, pre["id"])["status"] == "AUTHORIZED"


def test_pre_authorisation_continuation_refuses_what_it_must(client: FlaskClient) -> None:
    pre = pre_authorised(client)
    headers = {**h(), "consent": pre["consentToken"]}
    body = {"applicationUserId": "user-1", "institutionId": pre["institutionId"]}
    assert legacy_error(
        client.put(AAR, json={**body, "institutionId": "n26"}, headers=headers), 400
    )
    wrong_user = {**body, "applicationUserId": "someone-else"}
    assert legacy_error(client.put(AAR, json=wrong_user, headers=headers), 400)
    legacy_error(client.put(AAR, json={"applicationUserId": "user-1"}, headers=headers), 400)
    assert client.put(AAR, json=body, headers=headers).status_code == 200
    error = legacy_error(client.put(AAR, json=body, headers=headers), 400)
    assert "AWAITING_DECOUPLED_AUTHORIZATION cannot be continued" in error["message"]
    authorised = approved(client)
    other = {**body, "institutionId": "modelo-sandbox"}
    legacy_error(
        client.put(AAR, json=other, headers={**h(), "consent": authorised["consentToken"]}), 400
    )


def delete(client: FlaskClient, consent_id: str, query: str = "") -> dict[str, Any]:
    response = client.delete(f"/yapily/consents/{consent_id}{query}", headers=h())
    assert response.status_code == 200, response.json
    data: dict[str, Any] = json_of(response)["data"]
    return data


def test_force_delete_false_fails_where_the_institution_refuses_to_revoke(
    client: FlaskClient,
) -> None:
    refusing = approved(client, institutionId="revoke-fails-sandbox")
    assert delete(client, refusing["id"], "?forceDelete=false")["deleteStatus"] == "FAILED"
    assert consent(client, refusing["id"])["status"] == "AUTHORIZED"
    assert delete(client, refusing["id"])["deleteStatus"] == "SUCCESS"  # default: true
    shown = consent(client, refusing["id"])
    assert shown["status"] == "REVOKED" and shown["isDeletedByInstitution"] is False
    ordinary = approved(client)
    assert delete(client, ordinary["id"], "?forceDelete=false")["deleteStatus"] == "SUCCESS"
    shown = consent(client, ordinary["id"])
    assert shown["status"] == "REVOKED" and shown["isDeletedByInstitution"] is True


# -- the journey pages act only with a key the API handed to the consent's application -------


def page_url(url: str, **replace: str) -> str:
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()} | replace
    return f"{parts.path}?" + "&".join(f"{k}={v}" for k, v in params.items() if v)


def test_pages_refuse_another_tenants_consent_without_its_key(client: FlaskClient) -> None:
    victim = start(client, "app-a", callback=CALLBACK)
    attacker = start(client, "app-b", callback=CALLBACK)
    own_key = parse_qs(urlsplit(attacker["authorisationUrl"]).query)["access"][0]
    state = victim["state"]
    for key in ("", "guessed", own_key):
        url = page_url(victim["authorisationUrl"], access=key)
        assert client.get(url).status_code == 403, key
        qr = f"/__sandbox/yapily/qr/{victim['id']}" + (f"?access={key}" if key else "")
        page = client.get(qr)
        assert page.status_code == 403 and state not in page.text
    # a journey ticket of the attacker's own page does not answer the victim's consent
    own = client.get(page_url(attacker["authorisationUrl"])).text
    journey = re.search(r"name='journey' value='([^']+)'", own)
    assert journey is not None
    form = {"journey": journey.group(1), "decision": "approve"}
    assert (
        client.post(f"/__sandbox/yapily/authorise/{victim['id']}/decision", data=form).status_code
        == 403
    )
    assert consent(client, victim["id"])["status"] == "AWAITING_AUTHORIZATION"
    assert client.get(page_url(victim["authorisationUrl"])).status_code == 200


def test_page_keys_expire_after_a_day(client: FlaskClient) -> None:
    started = start(client)
    client.post("/__admin/clock", json={"advance": "P1DT1M", "tenant": "app-a"})
    assert client.get(page_url(started["authorisationUrl"])).status_code == 403
    assert client.get(f"/__sandbox/yapily/authorise/{uuid.uuid4()}").status_code == 404


def test_the_journal_masks_the_consent_token_header(client: FlaskClient) -> None:
    token = approved(client)["consentToken"]
    reauthorise(client, token)
    [entry] = [
        e
        for e in json_of(client.get("/__admin/requests?provider=yapily"))["requests"]
        if e["operation"] == "reAuthoriseAccount"
    ]
    assert token not in str(entry) and entry["headers"]["Consent"] == "****"
