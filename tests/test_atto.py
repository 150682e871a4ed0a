"""Atto behaviour through Flask's test client, with the strict response check on every response."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import SimClock, create_app

from tests_helpers import json_list_of, json_of

BASE = "/atto/consents/v1"
TOKEN = "/atto/v1/oauth2/token"
FIXTURES = Path(__file__).parents[1] / "fixtures"
ERROR_FIELDS = {"code", "description", "details", "correlationId"}
CONSENT_FIELDS = {
    "consentId",
    "applicationId",
    "userId",
    "providerId",
    "providerName",
    "configurationName",
    "customerReference",
    "consentDurationType",
    "consentStatus",
    "consentStart",
    "consentEnd",
    "duration",
    "daysOfHistoricalTransactions",
    "statusUpdated",
    "statusDetails",
    "permissions",
    "invitationId",
    "journeyType",
}
STATUSES = ("Pending", "Active", "Revoked", "Abandoned", "Failed", "Expired")
T0_TEXT = "2026-01-05T09:30:00Z"


@pytest.fixture
def app(clock: SimClock) -> Iterator[Flask]:
    application = create_app(["atto"], strict=True, clock=clock)
    application.testing = True
    yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def token_form(client_id: str = "client-a", **changes: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": f"secret-of-{client_id}",
        "scope": "api:consent",
        **changes,
    }


def bearer(client: FlaskClient, client_id: str = "client-a") -> dict[str, str]:
    response = client.post(TOKEN, data=token_form(client_id))
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {json_of(response)['accessToken']}"}


def admin_consent(client: FlaskClient, tenant: str = "client-a", **fields: Any) -> dict[str, Any]:
    response = client.post("/__admin/atto/consents", json={"tenant": tenant, **fields})
    assert response.status_code == 201, response.json
    body = json_of(response)
    return body


def move(client: FlaskClient, consent_id: str, status: str, **options: Any) -> TestResponse:
    return client.post(
        f"/__admin/atto/consents/{consent_id}/status", json={"status": status, **options}
    )


def advance(client: FlaskClient, duration: str, tenant: str | None = None) -> None:
    body = {"advance": duration, **({"tenant": tenant} if tenant else {})}
    assert client.post("/__admin/clock", json=body).status_code == 200


def assert_error(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.data
    assert response.content_type == "application/json"
    body = json_of(response)
    assert set(body) == ERROR_FIELDS and body["code"] == code, body
    uuid.UUID(body["correlationId"])
    return body


# -- the token endpoint ----------------------------------------------------------------------------
def test_token_for_form_encoded_client_credentials(client: FlaskClient) -> None:
    response = client.post(TOKEN, data=token_form())
    assert response.status_code == 200
    body = json_of(response)
    assert set(body) == {"tokenType", "expiresIn", "accessToken"}
    assert body["tokenType"] == "Bearer" and body["expiresIn"] == 3600
    headers = {"Authorization": f"Bearer {body['accessToken']}"}
    assert client.get(BASE, headers=headers).json == []


def test_other_documented_scopes_may_come_along(client: FlaskClient) -> None:
    response = client.post(TOKEN, data=token_form(scope="api:data api:consent api:cis"))
    assert response.status_code == 200


@pytest.mark.parametrize("grant_type", ["authorization_code", "password", ""])
def test_token_refuses_another_grant_type(client: FlaskClient, grant_type: str) -> None:
    body = assert_error(
        client.post(TOKEN, data=token_form(grant_type=grant_type)), 400, "parameters_invalid"
    )
    assert "grant_type must be client_credentials" in body["details"]


@pytest.mark.parametrize("scope", ["api:data", "api:consents", "api:consent ", "", "openid"])
def test_token_refuses_a_scope_without_api_consent(client: FlaskClient, scope: str) -> None:
    body = assert_error(client.post(TOKEN, data=token_form(scope=scope)), 400, "parameters_invalid")
    assert "api:consent" in body["details"]


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "client_secret", "scope"])
def test_token_needs_every_field(client: FlaskClient, missing: str) -> None:
    form = token_form()
    del form[missing]
    body = assert_error(client.post(TOKEN, data=form), 400, "parameters_invalid")
    assert f"{missing} is required" in body["details"]


def test_token_with_no_body_or_empty_credentials(client: FlaskClient) -> None:
    assert_error(client.post(TOKEN), 400, "parameters_invalid")
    empty = client.post(TOKEN, data=token_form(client_id="", client_secret=""))
    assert_error(empty, 400, "parameters_invalid")


def test_token_takes_a_form_not_json(client: FlaskClient) -> None:
    body = assert_error(client.post(TOKEN, json=token_form()), 415, "parameters_invalid")
    assert "application/x-www-form-urlencoded" in body["details"]


def test_the_first_secret_registers_the_client_and_a_wrong_one_is_refused(
    client: FlaskClient,
) -> None:
    assert client.post(TOKEN, data=token_form("new-client")).status_code == 200
    wrong = client.post(TOKEN, data=token_form("new-client", client_secret="guess"))
    body = assert_error(wrong, 401, "unauthorised_client")
    assert body["details"] == "Invalid client credentials."
    assert client.post(TOKEN, data=token_form("new-client")).status_code == 200


def test_the_client_secret_is_masked_in_the_journal(client: FlaskClient) -> None:
    client.post(TOKEN, data=token_form(client_secret="a-very-long-client-secret"))
    entry = json_of(client.get("/__admin/requests?provider=atto"))["requests"][-1]
    assert entry["body"]["client_secret"] == "****"
    assert entry["tenant"] == "client-a"


def test_tokens_expire_after_expires_in_by_the_simulated_clock(client: FlaskClient) -> None:
    headers = bearer(client)
    advance(client, "PT59M59S")
    assert client.get(BASE, headers=headers).status_code == 200
    advance(client, "PT1S")
    body = assert_error(client.get(BASE, headers=headers), 401, "unauthorised_client")
    assert "expired" in body["details"]
    assert client.get(BASE, headers=bearer(client)).status_code == 200


def test_tokens_expire_by_the_tenant_clock_too(client: FlaskClient) -> None:
    mine, theirs = bearer(client, "client-a"), bearer(client, "client-b")
    advance(client, "PT1H", tenant="client-a")
    assert_error(client.get(BASE, headers=mine), 401, "unauthorised_client")
    assert client.get(BASE, headers=theirs).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token-we-issued"},
        {"Authorization": "Basic Y2xpZW50LWE6c2VjcmV0"},
        {"Authorization": "Bearer "},
    ],
    ids=["missing", "unknown", "basic", "empty"],
)
def test_consent_operations_need_a_live_token(client: FlaskClient, headers: dict[str, str]) -> None:
    consent = admin_consent(client, status="Active")
    url = f"{BASE}/{consent['consentId']}"
    assert_error(client.get(BASE, headers=headers), 401, "unauthorised_client")
    assert_error(client.get("/atto/consents/v2", headers=headers), 401, "unauthorised_client")
    assert_error(client.get(url, headers=headers), 401, "unauthorised_client")
    assert_error(client.post(f"{url}/revoke", headers=headers), 401, "unauthorised_client")


# -- tenants ------------------------------------------------------------------------------------
def test_a_client_sees_only_its_own_consents(client: FlaskClient) -> None:
    consent = admin_consent(client, status="Active")
    url = f"{BASE}/{consent['consentId']}"
    other = bearer(client, "client-b")
    assert_error(client.get(url, headers=other), 404, "consent_not_found")
    assert_error(client.post(f"{url}/revoke", headers=other), 404, "consent_not_found")
    assert client.get(BASE, headers=other).json == []
    assert json_of(client.get(url, headers=bearer(client)))["consentStatus"] == "Active"


def test_application_id_is_the_client_id_or_derived_from_it(client: FlaskClient) -> None:
    named = admin_consent(client)
    again = admin_consent(client)
    assert named["applicationId"] == again["applicationId"]
    uuid.UUID(named["applicationId"])
    as_uuid = str(uuid.uuid4())
    assert admin_consent(client, tenant=as_uuid)["applicationId"] == as_uuid


# -- get -----------------------------------------------------------------------------------------
def test_get_a_consent(client: FlaskClient) -> None:
    consent = admin_consent(client, status="Active", customerReference="cust-1")
    response = client.get(f"{BASE}/{consent['consentId']}", headers=bearer(client))
    assert response.status_code == 200
    body = json_of(response)
    assert set(body) == CONSENT_FIELDS and list(body) == list(consent)
    assert body == consent
    assert body["customerReference"] == "cust-1" and body["journeyType"] is None


@pytest.mark.parametrize("bad", ["abc", "42", "e521cf62-a45f-49c5-8372-94853fffeb5"])
def test_a_consent_id_that_is_not_a_uuid_is_400(client: FlaskClient, bad: str) -> None:
    headers = bearer(client)
    body = assert_error(client.get(f"{BASE}/{bad}", headers=headers), 400, "parameters_invalid")
    assert body["details"] == "consentId must be a uuid"
    assert_error(client.post(f"{BASE}/{bad}/revoke", headers=headers), 400, "parameters_invalid")


def test_an_unknown_consent_is_404(client: FlaskClient) -> None:
    headers = bearer(client)
    unknown = f"{BASE}/{uuid.uuid4()}"
    assert_error(client.get(unknown, headers=headers), 404, "consent_not_found")
    assert_error(client.post(f"{unknown}/revoke", headers=headers), 404, "consent_not_found")


# -- list ----------------------------------------------------------------------------------------
@pytest.fixture
def listed(client: FlaskClient) -> dict[str, dict[str, Any]]:
    made = {
        "pending": admin_consent(
            client,
            status="Pending",
            customerReference="alice",
            configurationName="default",
            providerId=1,
            statusUpdated="2026-01-01T10:00:00Z",
        ),
        "active": admin_consent(
            client,
            status="Active",
            customerReference="bob",
            configurationName="lending",
            providerId=2,
            statusUpdated="2026-01-02T10:00:00Z",
        ),
        "revoked": admin_consent(
            client,
            status="Revoked",
            customerReference="alice",
            configurationName="lending",
            providerId=2,
            statusUpdated="2026-01-03T10:00:00Z",
        ),
        "failed": admin_consent(
            client,
            status="Failed",
            customerReference="carol",
            configurationName="default",
            providerId=7,
            statusUpdated="2026-01-04T10:00:00Z",
        ),
    }
    admin_consent(client, tenant="client-b", status="Active", customerReference="alice")
    return made


def refs(client: FlaskClient, query: str, path: str = BASE) -> list[str]:
    response = client.get(f"{path}?{query}", headers=bearer(client))
    assert response.status_code == 200, response.json
    assert isinstance(response.json, list)
    return [f"{c['customerReference']}:{c['consentStatus']}" for c in response.json]


ALL = ["alice:Pending", "bob:Active", "alice:Revoked", "carol:Failed"]


def test_list_is_a_bare_array_in_creation_order(
    client: FlaskClient, listed: dict[str, dict[str, Any]]
) -> None:
    assert refs(client, "") == ALL
    assert refs(client, "", "/atto/consents/v2") == ALL
    everything = json_list_of(client.get(BASE, headers=bearer(client)))
    assert everything[1] == listed["active"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("consentStatus=Active", ["bob:Active"]),
        ("consentStatus=Expired", []),
        ("configurationName=lending", ["bob:Active", "alice:Revoked"]),
        ("configurationName=Lending", []),
        ("providerId=2", ["bob:Active", "alice:Revoked"]),
        ("customerReference=alice", ["alice:Pending", "alice:Revoked"]),
        ("customerReference=ALICE", []),
        ("customerReference=alice&consentStatus=Revoked", ["alice:Revoked"]),
        ("from=2026-01-02T10:00:00Z", ["bob:Active", "alice:Revoked", "carol:Failed"]),
        ("to=2026-01-02T10:00:00Z", ["alice:Pending", "bob:Active"]),
        ("from=2026-01-02T00:00:00Z&to=2026-01-03T23:00:00Z", ["bob:Active", "alice:Revoked"]),
        ("from=2026-01-04T00:00:00Z&to=2026-01-01T00:00:00Z", []),
        ("offset=1", ALL[1:]),
        ("limit=2", ALL[:2]),
        ("offset=1&limit=2", ALL[1:3]),
        ("offset=3&limit=5", ALL[3:]),
        ("offset=9", []),
        ("limit=0", ALL),
        ("userId=not-a-uuid", []),
    ],
)
def test_list_filters_and_paging(
    client: FlaskClient, listed: dict[str, dict[str, Any]], query: str, expected: list[str]
) -> None:
    assert refs(client, query) == expected
    assert refs(client, query, "/atto/consents/v2") == expected


def test_list_by_user_id(client: FlaskClient, listed: dict[str, dict[str, Any]]) -> None:
    alice = listed["pending"]["userId"]
    assert listed["revoked"]["userId"] == alice  # one user per client and customer reference
    assert refs(client, f"userId={alice}") == ["alice:Pending", "alice:Revoked"]


def test_v2_data_source_type(client: FlaskClient, listed: dict[str, dict[str, Any]]) -> None:
    v2 = "/atto/consents/v2"
    assert refs(client, "dataSourceType=OpenBanking", v2) == ALL
    assert refs(client, "dataSourceType=CreditInformation", v2) == []
    body = json_list_of(client.get(v2, headers=bearer(client)))
    assert all(set(c) == CONSENT_FIELDS for c in body)


@pytest.mark.parametrize(
    "query",
    [
        "consentStatus=active",
        "consentStatus=Deleted",
        "providerId=bank",
        "providerId=2147483648",
        "offset=-1",
        "limit=-1",
        "limit=ten",
        "from=yesterday",
        "to=2026-01-01",
    ],
)
def test_list_refuses_invalid_query_values(client: FlaskClient, query: str) -> None:
    headers = bearer(client)
    name = query.split("=")[0]
    for path in (BASE, "/atto/consents/v2"):
        body = assert_error(
            client.get(f"{path}?{query}", headers=headers), 400, "parameters_invalid"
        )
        assert name in body["details"]


def test_v2_refuses_an_unknown_data_source_type(client: FlaskClient) -> None:
    response = client.get("/atto/consents/v2?dataSourceType=Other", headers=bearer(client))
    assert "dataSourceType" in assert_error(response, 400, "parameters_invalid")["details"]


# -- revoke --------------------------------------------------------------------------------------
def test_revoke_an_active_consent(client: FlaskClient) -> None:
    consent = admin_consent(client, status="Active")
    url = f"{BASE}/{consent['consentId']}"
    headers = bearer(client)
    advance(client, "PT2H")
    headers = bearer(client)
    response = client.post(f"{url}/revoke", headers=headers)
    assert response.status_code == 204 and response.data == b""
    revoked = json_of(client.get(url, headers=headers))
    assert revoked["consentStatus"] == "Revoked"
    assert revoked["statusUpdated"] == "2026-01-05T11:30:00Z"
    assert revoked["statusDetails"] == "Consent revoked via the Consent API"
    assert revoked["consentEnd"] == consent["consentEnd"]  # the data is not deleted
    again = assert_error(client.post(f"{url}/revoke", headers=headers), 403, "consent_revoked")
    assert "Revoked" in again["details"]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("Expired", "consent_expired"),
        ("Revoked", "consent_revoked"),
        ("Pending", "consent_revoked"),
        ("Abandoned", "consent_revoked"),
        ("Failed", "consent_revoked"),
    ],
)
def test_only_an_active_consent_can_be_revoked(client: FlaskClient, status: str, code: str) -> None:
    consent = admin_consent(client, status=status)
    url = f"{BASE}/{consent['consentId']}"
    headers = bearer(client)
    assert_error(client.post(f"{url}/revoke", headers=headers), 403, code)
    assert client.get(url, headers=headers).json == consent


def test_revoke_after_consent_end_is_consent_expired(client: FlaskClient) -> None:
    consent = admin_consent(client, status="Active", consentEnd="2026-01-05T10:00:00Z")
    advance(client, "PT31M")
    url = f"{BASE}/{consent['consentId']}"
    headers = bearer(client)
    assert_error(client.post(f"{url}/revoke", headers=headers), 403, "consent_expired")
    assert json_of(client.get(url, headers=headers))["consentStatus"] == "Expired"


# -- the lifecycle by the clock ------------------------------------------------------------------
def test_active_becomes_expired_at_consent_end(client: FlaskClient) -> None:
    consent = admin_consent(client, status="Active")
    assert consent["consentStart"] == T0_TEXT
    assert consent["consentEnd"] == "2026-04-05T09:30:00Z"  # 90 days
    assert consent["duration"] == "P90D" and consent["statusDetails"] is None
    url = f"{BASE}/{consent['consentId']}"
    advance(client, "P89DT23H59M59S")
    assert json_of(client.get(url, headers=bearer(client)))["consentStatus"] == "Active"
    advance(client, "PT1S")
    headers = bearer(client)
    expired = json_of(client.get(url, headers=headers))
    assert expired["consentStatus"] == "Expired"
    assert expired["statusUpdated"] == consent["consentEnd"]
    assert expired["statusDetails"] == "Consent end date reached"
    assert refs(client, "consentStatus=Expired") == [f"{consent['customerReference']}:Expired"]


def test_expiry_is_found_by_the_list_and_by_the_tenant_clock(client: FlaskClient) -> None:
    mine = admin_consent(client, status="Active", consentEnd="2026-01-06T09:30:00Z")
    theirs = admin_consent(
        client, tenant="client-b", status="Active", consentEnd="2026-01-06T09:30:00Z"
    )
    advance(client, "P1D", tenant="client-a")
    assert json_list_of(client.get(BASE, headers=bearer(client)))[0]["consentStatus"] == "Expired"
    other = client.get(f"{BASE}/{theirs['consentId']}", headers=bearer(client, "client-b"))
    assert json_of(other)["consentStatus"] == "Active"
    assert mine["consentId"] != theirs["consentId"]


def test_infinite_and_null_end_consents_never_expire(client: FlaskClient) -> None:
    infinite = admin_consent(client, status="Active", consentDurationType="Infinite")
    assert infinite["consentEnd"] is None
    open_ended = admin_consent(client, status="Active", consentEnd=None)
    advance(client, "P3650D")
    headers = bearer(client)
    for consent in (infinite, open_ended):
        body = json_of(client.get(f"{BASE}/{consent['consentId']}", headers=headers))
        assert body["consentStatus"] == "Active"


def test_the_duration_sets_the_lifetime(client: FlaskClient) -> None:
    consent = admin_consent(client, status="Active", duration="P30D")
    assert consent["consentEnd"] == "2026-02-04T09:30:00Z"


# -- the admin API -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "details", "start", "end"),
    [
        ("Pending", None, None, None),
        ("Active", None, T0_TEXT, "2026-04-05T09:30:00Z"),
        ("Revoked", "Consent revoked by the user or the bank", T0_TEXT, "2026-04-05T09:30:00Z"),
        ("Abandoned", "customer_cancelled", None, None),
        ("Failed", "access_denied", None, None),
        ("Expired", "Consent end date reached", "2025-10-07T09:30:00Z", T0_TEXT),
    ],
)
def test_admin_creates_a_consent_in_every_status(
    client: FlaskClient, status: str, details: str | None, start: str | None, end: str | None
) -> None:
    consent = admin_consent(client, status=status)
    assert set(consent) == CONSENT_FIELDS
    assert consent["consentStatus"] == status and consent["statusDetails"] == details
    assert (consent["consentStart"], consent["consentEnd"]) == (start, end)
    assert consent["statusUpdated"] == T0_TEXT
    assert consent["providerId"] == 1 and consent["providerName"] == "Atto Sandbox Bank"
    assert consent["customerReference"].startswith("sandbox-customer-")
    shown = client.get(f"{BASE}/{consent['consentId']}", headers=bearer(client)).json
    assert shown == consent


def test_admin_create_defaults_to_pending_and_takes_every_field(client: FlaskClient) -> None:
    assert admin_consent(client)["consentStatus"] == "Pending"
    fields: dict[str, Any] = {
        "consentId": "e521cf62-a45f-49c5-8372-94853fffeb55",
        "applicationId": "97ab27fa-30e2-43e3-92a3-160e80f4c0d5",
        "userId": "2c4a230c-5085-4924-a3e1-25fb4fc5965b",
        "providerId": 42,
        "providerName": "Some Bank",
        "configurationName": "cfg",
        "customerReference": "ref",
        "consentDurationType": "Single",
        "consentStart": "2026-01-01T00:00:00Z",
        "consentEnd": "2026-02-01T00:00:00Z",
        "duration": "P31D",
        "daysOfHistoricalTransactions": 0,
        "statusUpdated": "2026-01-01T00:00:00Z",
        "statusDetails": "ok",
        "permissions": ["ReadBalances"],
        "invitationId": "inv-1",
        "journeyType": "Reconfirmation",
    }
    made = admin_consent(client, status="Active", **fields)
    assert made == {**fields, "consentStatus": "Active"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"colour": "red"}, "unknown consent fields: colour"),
        ({"consentId": "nope"}, "consentId must be a uuid"),
        ({"userId": "nope"}, "userId must be a uuid"),
        ({"providerId": "2"}, "providerId must be a 32-bit integer"),
        ({"providerId": True}, "providerId must be a 32-bit integer"),
        ({"consentDurationType": "Forever"}, "consentDurationType must be one of"),
        ({"journeyType": "Initial"}, "journeyType must be one of"),
        ({"statusUpdated": None}, "statusUpdated must not be null"),
        ({"consentEnd": "soon"}, "consentEnd must be an RFC 3339 date-time"),
        ({"permissions": [1]}, "permissions must be a list of strings"),
        ({"customerReference": 7}, "customerReference must be a string"),
        ({"status": "Cancelled"}, "not a atto status"),
        ({"status": "Expired", "consentEnd": "2027-01-01T00:00:00Z"}, "must not be after"),
    ],
)
def test_admin_create_refuses_bad_fields(
    client: FlaskClient, fields: dict[str, Any], message: str
) -> None:
    response = client.post("/__admin/atto/consents", json={"tenant": "client-a", **fields})
    assert response.status_code == 400
    assert message in json_of(response)["message"]


def test_admin_status_names_are_case_insensitive(client: FlaskClient) -> None:
    assert admin_consent(client, status="active")["consentStatus"] == "Active"


@pytest.mark.parametrize(
    ("start", "path"),
    [
        ("Pending", ["Active", "Revoked", "Active", "Expired", "Active"]),
        ("Pending", ["Abandoned"]),
        ("Pending", ["Failed"]),
    ],
)
def test_admin_allowed_transitions(client: FlaskClient, start: str, path: list[str]) -> None:
    consent_id = admin_consent(client, status=start)["consentId"]
    for step, status in enumerate(path):
        advance(client, "PT1H")
        response = move(client, consent_id, status)
        assert response.status_code == 200, response.json
        assert json_of(response)["consentStatus"] == status
        assert json_of(response)["statusUpdated"] == f"2026-01-05T{10 + step}:30:00Z"


def test_admin_refused_transitions_answer_409_with_the_allowed_ones(
    client: FlaskClient,
) -> None:
    expected = {
        "Pending": ["Active", "Abandoned", "Failed"],
        "Active": ["Revoked", "Expired"],
        "Revoked": ["Active"],
        "Expired": ["Active"],
        "Abandoned": [],
        "Failed": [],
    }
    for status, allowed in expected.items():
        consent_id = admin_consent(client, status=status)["consentId"]
        refused = next(s for s in STATUSES if s not in allowed)
        response = move(client, consent_id, refused)
        assert response.status_code == 409, (status, refused)
        assert json_of(response)["allowed"] == allowed
        assert json_of(response)["current"] == status
        shown = json_of(client.get(f"/__admin/atto/consents/{consent_id}"))
        assert shown["allowedTransitions"] == allowed and shown["status"] == status


def test_transitions_keep_status_updated_and_status_details_right(client: FlaskClient) -> None:
    consent_id = admin_consent(client)["consentId"]
    steps = [
        ("Active", {}, None),
        ("Revoked", {}, "Consent revoked by the user or the bank"),
        ("Active", {}, None),
        ("Expired", {}, "Consent end date reached"),
        ("Active", {"statusDetails": "renewed"}, "renewed"),
    ]
    for hours, (status, options, details) in enumerate(steps, start=1):
        advance(client, "PT1H")
        body = json_of(move(client, consent_id, status, **options))
        stamp = f"2026-01-05T{9 + hours}:30:00Z"
        assert (body["consentStatus"], body["statusDetails"]) == (status, details)
        assert body["statusUpdated"] == stamp
        if status == "Active":
            assert body["consentStart"] == stamp
        if status == "Expired":
            assert body["consentEnd"] == stamp
    assert body["journeyType"] == "Reauthentication"


def test_initial_activation_keeps_journey_type_null(client: FlaskClient) -> None:
    consent_id = admin_consent(client)["consentId"]
    assert json_of(move(client, consent_id, "Active"))["journeyType"] is None


@pytest.mark.parametrize("error", ["access_denied", "provider_permanent_error", "unexpected_error"])
def test_admin_failed_takes_a_connect_error(client: FlaskClient, error: str) -> None:
    consent_id = admin_consent(client)["consentId"]
    body = json_of(move(client, consent_id, "Failed", error=error))
    assert body["consentStatus"] == "Failed" and body["statusDetails"] == error


@pytest.mark.parametrize(
    ("status", "options", "message"),
    [
        ("Failed", {"error": "boom"}, "error must be one of"),
        ("Active", {"error": "access_denied"}, "error is only for a move to Failed"),
        ("Active", {"colour": "red"}, "unknown transition options: colour"),
        ("Active", {"statusDetails": 5}, "statusDetails must be a string"),
        ("Gone", {}, "not a atto status"),
    ],
)
def test_admin_transition_options_are_checked(
    client: FlaskClient, status: str, options: dict[str, Any], message: str
) -> None:
    consent_id = admin_consent(client)["consentId"]
    response = move(client, consent_id, status, **options)
    assert response.status_code == 400 and message in json_of(response)["message"]
    assert json_of(client.get(f"/__admin/atto/consents/{consent_id}"))["status"] == "Pending"


def test_admin_approve_and_reject(client: FlaskClient) -> None:
    approved = admin_consent(client)["consentId"]
    response = client.post(f"/__admin/atto/consents/{approved}/approve")
    assert response.status_code == 200 and json_of(response)["consentStatus"] == "Active"
    rejected = admin_consent(client)["consentId"]
    body = json_of(client.post(f"/__admin/atto/consents/{rejected}/reject"))
    assert body["consentStatus"] == "Abandoned" and body["statusDetails"] == "customer_cancelled"
    assert client.post(f"/__admin/atto/consents/{rejected}/approve").status_code == 409


# -- errors outside the operations ---------------------------------------------------------------
def test_unknown_routes_and_methods_answer_in_atto_format(client: FlaskClient) -> None:
    headers = bearer(client)
    assert_error(client.get("/atto/consents/v3", headers=headers), 404, "consent_not_found")
    wrong = client.delete(f"{BASE}/{uuid.uuid4()}", headers=headers)
    assert_error(wrong, 405, "parameters_invalid")
    assert wrong.headers["Allow"] == "GET"


def test_injected_faults_answer_in_atto_format(client: FlaskClient) -> None:
    headers = bearer(client)
    fault = {"provider": "atto", "operation": "listConsents", "status": 503, "times": 1}
    assert client.post("/__admin/faults", json=fault).status_code == 201
    assert_error(client.get(BASE, headers=headers), 503, "unexpected_error")
    forbidden = {"provider": "atto", "operation": "getConsent", "status": 403, "times": 1}
    assert client.post("/__admin/faults", json=forbidden).status_code == 201
    assert_error(client.get(f"{BASE}/{uuid.uuid4()}", headers=headers), 403, "consent_denied")
    assert client.get(BASE, headers=headers).status_code == 200


# -- the fixtures --------------------------------------------------------------------------------
def test_the_fixture_client_and_its_consents_in_every_status(clock: SimClock) -> None:
    app = create_app(["atto"], strict=True, clock=clock, fixtures=FIXTURES)
    client = app.test_client()
    form = token_form("sandbox-atto-client", client_secret="sandbox-atto-secret")
    response = client.post(TOKEN, data=form)
    assert response.status_code == 200
    headers = {"Authorization": f"Bearer {json_of(response)['accessToken']}"}
    consents = json_list_of(client.get(BASE, headers=headers))
    assert {c["consentStatus"] for c in consents} == set(STATUSES)
    wrong = client.post(TOKEN, data={**form, "client_secret": "sandbox-atto-client"})
    assert_error(wrong, 401, "unauthorised_client")
    first = (FIXTURES / "atto.yaml").read_text().splitlines()[0]
    assert first.startswith("#") and "sandbox-atto-secret" in first
    assert app.extensions["mockserver"].runtimes["atto"].definition.default_tenant in first


def test_fixture_credentials_must_be_a_client_secret(clock: SimClock) -> None:
    app = create_app(["atto"], strict=True, clock=clock)
    client = app.test_client()
    document: dict[str, Any] = {
        "provider": "atto",
        "tenants": [{"tenant": "x", "credentials": {"password": "p"}, "consents": []}],
    }
    response = client.post("/__admin/seed", json=document)
    assert response.status_code == 400 and "client_secret" in json_of(response)["message"]
    document["tenants"][0]["credentials"] = {"client_secret": "s3cret"}
    assert client.post("/__admin/seed", json=document).status_code == 201
    refused = client.post(TOKEN, data=token_form("x", client_secret="other"))
    assert_error(refused, 401, "unauthorised_client")
    assert client.post(TOKEN, data=token_form("x", client_secret="s3cret")).status_code == 200


# -- the Connect pages, without a browser (the journey itself: test_sandbox_atto.py) -------------
CONNECT = "/__sandbox/atto/connect"


def connect_url(**params: str) -> str:
    return f"{CONNECT}?{urlencode(params)}"


def launch_url(client: FlaskClient, holder: str = "client-a", **params: str) -> str:
    """An Atto Connect launch link for client-a (unless `client_id` says otherwise) carrying
    a live api:consent token of `holder`."""
    token = bearer(client, holder)["Authorization"].split()[1]
    link = {"client_id": "client-a", "customer_ref": "cust-9", "access_token": token}
    return connect_url(**{**link, **params})


@pytest.mark.parametrize(
    ("params", "status", "text"),
    [
        ({"customer_ref": "c"}, 400, "client_id is required"),
        ({"client_id": "client-a"}, 400, "customer_ref is required"),
        ({"client_id": "client-a", "customer_ref": "x" * 256}, 400, "customer_ref is required"),
        ({"client_id": "client-a", "customer_ref": "c", "provider_id": "99"}, 400, "provider_id"),
        ({"client_id": "a", "customer_ref": "c", "redirect_url": "ftp://x"}, 400, "redirect_url"),
        ({"consent_id": "x", "access_token": "nope"}, 401, "access_token"),
    ],
)
def test_connect_refuses_bad_launch_parameters(
    client: FlaskClient, params: dict[str, str], status: int, text: str
) -> None:
    response = client.get(connect_url(**params))
    assert response.status_code == status
    assert response.content_type.startswith("text/html") and text in response.text


def start_journey(client: FlaskClient, **extra: str) -> tuple[str, str]:
    """Pick bank 7 on the Connect page; return the consent id and the consent screen's URL."""
    page = client.get(launch_url(client, **extra))
    assert page.status_code == 200 and "Choose your bank" in page.text
    journey = page.text.split("name='journey' value='")[1].split("'")[0]
    started = client.post(f"{CONNECT}/start", data={"journey": journey, "provider": "7"})
    assert started.status_code == 303
    location = started.headers["Location"]
    return urlsplit(location).path.rsplit("/", 1)[1], location


def test_the_journey_without_a_browser(client: FlaskClient) -> None:
    consent_id, screen = start_journey(client, config_id="lending")
    pending = json_of(client.get(f"{BASE}/{consent_id}", headers=bearer(client)))
    assert pending["consentStatus"] == "Pending" and pending["providerName"] == "Monzo"
    assert pending["configurationName"] == "lending" and pending["customerReference"] == "cust-9"
    page = client.get(screen)
    assert page.status_code == 200 and "Monzo" in page.text
    journey = parse_qs(urlsplit(screen).query)["journey"][0]
    decision = f"{CONNECT}/{consent_id}/decision"
    done = client.post(decision, data={"journey": journey, "decision": "approve"})
    assert done.status_code == 200 and "state" in done.text and consent_id in done.text
    replay = client.post(decision, data={"journey": journey, "decision": "cancel"})
    assert replay.status_code == 403
    assert json_of(client.get(f"{BASE}/{consent_id}", headers=bearer(client)))["consentStatus"] == (
        "Active"
    )
    assert client.get(screen).status_code == 403


def test_the_start_form_works_once_and_checks_the_bank(client: FlaskClient) -> None:
    page = client.get(launch_url(client, provider_id="3"))
    assert "value='3' checked" in page.text
    journey = page.text.split("name='journey' value='")[1].split("'")[0]
    start = f"{CONNECT}/start"
    assert client.post(start, data={"journey": journey, "provider": "99"}).status_code == 400
    assert client.post(start, data={"journey": journey}).status_code == 400
    assert client.get(BASE, headers=bearer(client)).json == []
    assert client.post(start, data={"journey": journey, "provider": "3"}).status_code == 303
    assert client.post(start, data={"journey": journey, "provider": "3"}).status_code == 403
    assert client.post(start, data={"journey": "forged", "provider": "3"}).status_code == 403
    listed = json_list_of(client.get(BASE, headers=bearer(client)))
    assert [c["providerName"] for c in listed] == ["HSBC UK"]


def test_a_launch_needs_a_live_token_of_the_client_it_names(client: FlaskClient) -> None:
    """Issue 18 point 9: nobody but the client itself opens a journey in its account."""
    plain = {"client_id": "client-a", "customer_ref": "cust-9"}
    nothing = client.get(connect_url(**plain))
    assert nothing.status_code == 401 and "access_token" in nothing.text
    assert client.get(connect_url(**plain, access_token="forged")).status_code == 401
    theirs = client.get(launch_url(client, "client-b", client_id="client-a"))
    assert theirs.status_code == 403 and "another client_id" in theirs.text
    assert "name='journey'" not in nothing.text + theirs.text
    stale = launch_url(client)
    advance(client, "PT1H")
    assert client.get(stale).status_code == 401
    assert json_list_of(client.get(BASE, headers=bearer(client))) == []
    documented = launch_url(client, bank_code="NWBKGB2L", country_code="GB")  # accepted, unused
    assert client.get(documented).status_code == 200


def test_an_unknown_decision_is_refused_and_keeps_the_session(client: FlaskClient) -> None:
    consent_id, screen = start_journey(client)
    journey = parse_qs(urlsplit(screen).query)["journey"][0]
    decision = f"{CONNECT}/{consent_id}/decision"
    assert client.post(decision, data={"journey": journey, "decision": "maybe"}).status_code == 400
    bad_error = {"journey": journey, "decision": "fail", "error": "boom"}
    assert client.post(decision, data=bad_error).status_code == 400
    assert client.post(decision, data={"journey": journey, "decision": "cancel"}).status_code == 200


def test_reauthentication_link_checks_token_owner_and_status(client: FlaskClient) -> None:
    headers = bearer(client)
    token = headers["Authorization"].split()[1]
    active = admin_consent(client, status="Active")["consentId"]
    abandoned = admin_consent(client, status="Abandoned")["consentId"]
    theirs = admin_consent(client, tenant="client-b", status="Expired")["consentId"]
    assert client.get(connect_url(consent_id=active, access_token=token)).status_code == 409
    assert client.get(connect_url(consent_id=abandoned, access_token=token)).status_code == 409
    assert client.get(connect_url(consent_id=theirs, access_token=token)).status_code == 404
    missing = connect_url(consent_id=str(uuid.uuid4()), access_token=token)
    assert client.get(missing).status_code == 404
    expired = admin_consent(client, status="Expired")["consentId"]
    advance(client, "PT1H")
    assert client.get(connect_url(consent_id=expired, access_token=token)).status_code == 401
