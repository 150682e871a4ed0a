"""Yapily behaviour through Flask's test client, strict response checks on every response."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import SimClock, create_app
from mockserver.factories import make_consents
from mockserver.providers.yapily.consent import STATES, verify_token

from tests_helpers import json_of

STATUSES = STATES.statuses

ROOT = Path(__file__).parents[1]
T0 = "2026-01-05T09:30:00.000Z"
CALLBACK = "https://client.example/callback"
SEED_FEATURES = [
    "ACCOUNT_BENEFICIARIES",
    "ACCOUNT_STATEMENT_FILE",
    "ACCOUNTS",
    "ACCOUNT_PERIODIC_PAYMENTS",
    "ACCOUNT_TRANSACTIONS",
    "ACCOUNT",
    "ACCOUNT_STATEMENTS",
    "ACCOUNT_SCHEDULED_PAYMENTS",
    "IDENTITY",
    "ACCOUNT_DIRECT_DEBITS",
    "ACCOUNT_STATEMENT",
    "ACCOUNT_BALANCES",
    "ACCOUNT_TRANSACTIONS_WITH_MERCHANT",
]


@pytest.fixture
def app(clock: SimClock) -> Iterator[Flask]:
    application = create_app(["yapily"], strict=True, clock=clock)
    application.testing = True
    yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def h(application: str = "app-a", secret: str = "secret-a") -> dict[str, str]:
    token = base64.b64encode(f"{application}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def advance(client: FlaskClient, duration: str, tenant: str | None = None) -> None:
    body = {"advance": duration, **({"tenant": tenant} if tenant else {})}
    assert client.post("/__admin/clock", json=body).status_code == 200


def admin_consent(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/__admin/yapily/consents", json={"tenant": "app-a", **fields})
    assert response.status_code == 201, response.json
    body = json_of(response)
    return body


def start(client: FlaskClient, app_id: str = "app-a", **body: Any) -> dict[str, Any]:
    payload = {"institutionId": "modelo-sandbox", "applicationUserId": "user-1", **body}
    response = client.post("/yapily/account-auth-requests", json=payload, headers=h(app_id))
    assert response.status_code == 201, response.json
    data: dict[str, Any] = json_of(response)["data"]
    return data


def decide(client: FlaskClient, started: dict[str, Any], decision: str) -> str:
    """Open the authorisation page, press a button; return where the browser is sent."""
    url = urlsplit(started["authorisationUrl"])
    page = client.get(f"{url.path}?{url.query}")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    journey = re.search(r"name='journey' value='([^']+)'", page.text)
    assert journey is not None
    answer = client.post(
        f"{url.path}/decision", data={"journey": journey.group(1), "decision": decision}
    )
    assert answer.status_code in (200, 303), answer.text
    return str(answer.headers.get("Location", ""))


def consent(client: FlaskClient, consent_id: str, app_id: str = "app-a") -> dict[str, Any]:
    response = client.get(f"/yapily/consents/{consent_id}", headers=h(app_id))
    assert response.status_code == 200, response.json
    data: dict[str, Any] = json_of(response)["data"]
    return data


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def legacy_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.content_type == "application/json;charset=UTF-8"
    error: dict[str, Any] = response.json["error"]
    assert error["code"] == status and re.fullmatch(r"[0-9a-f]{32}", error["tracingId"])
    return error


# -- HTTP Basic: the tenant is the Application ID --------------------------------------------------
def test_credentials_are_required(client: FlaskClient) -> None:
    for headers in ({}, {"Authorization": "Bearer x"}, {"Authorization": "Basic !!!"}):
        response = client.get("/yapily/consents?limit=1", headers=headers)
        error = legacy_error(response, 401)
        assert error["status"] == "UNAUTHORIZED"
        assert error["message"] == "Full authentication is required to access this resource"
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Yapily"'


def test_the_first_secret_is_registered_and_another_is_refused(client: FlaskClient) -> None:
    assert client.get("/yapily/consents?limit=1", headers=h(secret="first")).status_code == 200
    wrong = client.get("/yapily/consents?limit=1", headers=h(secret="second"))
    assert legacy_error(wrong, 401)["status"] == "UNAUTHORIZED"
    assert client.get("/yapily/consents?limit=1", headers=h(secret="first")).status_code == 200
    assert client.get("/yapily/consents?limit=1", headers=h("app-b", "second")).status_code == 200


def test_an_empty_secret_is_refused_and_not_registered(client: FlaskClient) -> None:
    assert client.get("/yapily/consents?limit=1", headers=h(secret="")).status_code == 401
    assert client.get("/yapily/consents?limit=1", headers=h(secret="real")).status_code == 200


def test_fixture_credentials_register_the_default_secret(clock: SimClock) -> None:
    app = create_app(["yapily"], strict=True, clock=clock, fixtures=ROOT / "fixtures")
    client = app.test_client()
    wrong = client.get("/yapily/consents?limit=1", headers=h("sandbox-yapily-app", "guess"))
    assert wrong.status_code == 401
    right = client.get(
        "/yapily/consents?limit=1", headers=h("sandbox-yapily-app", "sandbox-yapily-secret")
    )
    assert right.status_code == 200


def test_applications_see_only_their_own_consents(client: FlaskClient) -> None:
    mine = start(client)
    other = h("app-b", "secret-b")
    for method in (client.get, client.delete):
        assert method(f"/yapily/consents/{mine['id']}", headers=other).status_code == 404
    extend = client.post(
        f"/yapily/consents/{mine['id']}/extend", json={"lastConfirmedAt": T0}, headers=other
    )
    assert extend.status_code == 404
    listed = json_of(client.get("/yapily/consents?limit=10", headers=other))
    assert listed["data"] == [] and listed["meta"]["pagination"]["totalCount"] == 0
    assert consent(client, mine["id"])["status"] == "AWAITING_AUTHORIZATION"


# -- GET /consents: the filter rule, filters, order, pages -----------------------------------------
@pytest.mark.parametrize(
    "params", ["", "?offset=0", "?filter[institution]=modelo-sandbox", "?filter[status]=AUTHORIZED"]
)
def test_list_needs_a_user_filter_or_a_limit(client: FlaskClient, params: str) -> None:
    error = legacy_error(client.get(f"/yapily/consents{params}", headers=h()), 400)
    assert error["status"] == "BAD_REQUEST"
    assert error["message"] == (
        "At least one of these filters filter[applicationUserId], filter[userUuid]=, limit= "
        "must be provided"
    )


@pytest.mark.parametrize(
    "params",
    [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "limit=5&offset=-1",
        "limit=5&offset=x",
        "limit=5&filter[status]=ACTIVE",
        "limit=5&filter[status]=authorized",
        "limit=5&filter[status]=AUTHORIZED&filter[status]=AUTHORIZED",
        "filter[userUuid]=mofe-2",
        "filter[applicationUserId]=a&filter[applicationUserId]=a",
        "limit=5&from=yesterday",
        "limit=5&from=2021-06-08",
        "limit=5&before=2021-13-01T00:00:00Z",
        "limit=5&before=2021-06-01T00:00:00",
    ],
)
def test_list_refuses_bad_queries(client: FlaskClient, params: str) -> None:
    error = legacy_error(client.get(f"/yapily/consents?{params}", headers=h()), 400)
    assert error["status"] == "BAD_REQUEST" and error["message"]


def test_limit_errors_say_the_range(client: FlaskClient) -> None:
    error = legacy_error(client.get("/yapily/consents?limit=0", headers=h()), 400)
    assert error["message"] == "limit must be between 1 and 1000"


@pytest.fixture
def listed(client: FlaskClient) -> dict[str, dict[str, Any]]:
    made = {
        "a1": admin_consent(
            client,
            applicationUserId="alice",
            institutionId="modelo-sandbox",
            status="AUTHORIZED",
            createdAt="2026-01-01T10:00:00Z",
        ),
        "a2": admin_consent(
            client,
            applicationUserId="alice",
            institutionId="bbva-sandbox",
            status="REJECTED",
            createdAt="2026-01-02T10:00:00Z",
        ),
        "b1": admin_consent(
            client,
            applicationUserId="bob",
            institutionId="modelo-sandbox",
            status="AWAITING_AUTHORIZATION",
            createdAt="2026-01-03T10:00:00Z",
        ),
        "b2": admin_consent(
            client,
            applicationUserId="bob",
            institutionId="yapily-mock",
            status="REVOKED",
            createdAt="2026-01-04T10:00:00Z",
        ),
        "u1": admin_consent(
            client,
            userUuid="0B8E3B1C-7A0E-4D3A-9F3E-00000000A11C",
            institutionId="yapily-mock",
            status="AUTHORIZED",
            createdAt="2026-01-04T12:00:00Z",
        ),
    }
    admin_consent(client, tenant="app-b", applicationUserId="alice")
    return made


def ids(client: FlaskClient, params: str) -> list[str]:
    response = client.get(f"/yapily/consents?{params}", headers=h())
    assert response.status_code == 200, response.json
    assert response.content_type == "application/json;charset=UTF-8"
    body = json_of(response)
    assert body["meta"]["count"] == len(body["data"])
    return [c["id"] for c in body["data"]]


def test_list_filters(client: FlaskClient, listed: dict[str, dict[str, Any]]) -> None:
    x = {key: c["id"] for key, c in listed.items()}
    assert ids(client, "limit=100") == [x["u1"], x["b2"], x["b1"], x["a2"], x["a1"]]
    assert ids(client, "filter[applicationUserId]=alice") == [x["a2"], x["a1"]]
    assert ids(client, "filter[applicationUserId]=alice&filter[applicationUserId]=bob") == [
        x["b2"],
        x["b1"],
        x["a2"],
        x["a1"],
    ]
    user_uuid = listed["a1"]["userUuid"]
    assert ids(client, f"filter[userUuid]={user_uuid.upper()}") == [x["a2"], x["a1"]]
    assert ids(client, "filter[userUuid]=0b8e3b1c-7a0e-4d3a-9f3e-00000000a11c") == [x["u1"]]
    assert ids(client, "limit=100&filter[institution]=modelo-sandbox") == [x["b1"], x["a1"]]
    both = "limit=100&filter[institution]=modelo-sandbox&filter[institution]=bbva-sandbox"
    assert ids(client, both) == [x["b1"], x["a2"], x["a1"]]
    assert ids(client, "limit=100&filter[status]=AUTHORIZED") == [x["u1"], x["a1"]]
    statuses = "limit=100&filter[status]=REVOKED&filter[status]=REJECTED"
    assert ids(client, statuses) == [x["b2"], x["a2"]]
    combined = "filter[applicationUserId]=bob&filter[institution]=modelo-sandbox"
    assert ids(client, combined) == [x["b1"]]
    assert ids(client, "filter[applicationUserId]=nobody") == []


def test_list_dates_are_inclusive_and_lenient(
    client: FlaskClient, listed: dict[str, dict[str, Any]]
) -> None:
    x = {key: c["id"] for key, c in listed.items()}
    documented = (
        "limit=100&from=2026-01-02T10:00:00.000%2B0000&before=2026-01-04T10:00:00.000%2B0000"
    )
    assert ids(client, documented) == [x["b2"], x["b1"], x["a2"]]
    assert ids(client, "limit=100&from=2026-01-04T11:00:00Z") == [x["u1"]]
    assert ids(client, "limit=100&before=2026-01-02T11:30:00%2B01:30") == [x["a2"], x["a1"]]
    december = admin_consent(client, applicationUserId="zoe", createdAt="2025-12-01T10:00:00Z")
    # 2025-11-31 does not exist: rolled over leniently to 2025-12-01, as Java does
    assert ids(client, "limit=100&before=2025-11-31T10:00:00Z") == [december["id"]]
    assert ids(client, "limit=100&before=2025-11-31T09:59:59.999Z") == []
    assert ids(client, "limit=100&from=2026-01-04T00:00:00Z&before=2026-01-01T00:00:00Z") == []


def test_pagination_across_pages(client: FlaskClient, listed: dict[str, dict[str, Any]]) -> None:
    everything = ids(client, "limit=100")
    seen: list[str] = []
    offset = 0
    while True:
        response = client.get(
            f"/yapily/consents?limit=2&offset={offset}&from=2025-12-01T00:00:00.000%2B0000",
            headers=h(),
        )
        meta = json_of(response)["meta"]
        pagination = meta["pagination"]
        assert pagination["totalCount"] == 5
        assert pagination["self"] == {
            "from": "2025-12-01T00:00:00.000Z",
            "limit": 2,
            "sort": "-date",
            "offset": offset,
        }
        seen += [c["id"] for c in json_of(response)["data"]]
        if "next" not in pagination:
            break
        assert pagination["next"] == {
            "from": "2025-12-01T00:00:00.000Z",
            "limit": 2,
            "cursor": str(offset + 2),
        }
        offset = int(pagination["next"]["cursor"])
    assert seen == everything and offset == 4 and meta["count"] == 1
    beyond = json_of(client.get("/yapily/consents?limit=2&offset=9", headers=h()))
    assert beyond["data"] == [] and beyond["meta"]["count"] == 0
    assert beyond["meta"]["pagination"]["totalCount"] == 5
    assert "next" not in beyond["meta"]["pagination"]


def test_pagination_self_without_limit(
    client: FlaskClient, listed: dict[str, dict[str, Any]]
) -> None:
    body = json_of(client.get("/yapily/consents?filter[applicationUserId]=bob", headers=h()))
    assert body["meta"]["pagination"] == {
        "totalCount": 2,
        "self": {"sort": "-date", "offset": 0},
    }


def test_equal_creation_times_sort_by_id_descending(client: FlaskClient) -> None:
    made = [admin_consent(client, id=f"00000000-0000-4000-8000-00000000000{i}") for i in (1, 3, 2)]
    assert ids(client, "limit=10") == sorted((c["id"] for c in made), reverse=True)


# -- POST /account-auth-requests -------------------------------------------------------------------
def test_account_auth_request_creates_an_awaiting_consent(client: FlaskClient) -> None:
    response = client.post(
        "/yapily/account-auth-requests",
        json={
            "applicationUserId": "string",
            "institutionId": "modelo-sandbox",
            "callback": CALLBACK,
        },
        headers=h(),
    )
    assert response.status_code == 201
    assert response.content_type == "application/json;charset=UTF-8"
    data = json_of(response)["data"]
    assert re.fullmatch(r"[0-9a-f]{32}", json_of(response)["meta"]["tracingId"])
    assert data["status"] == "AWAITING_AUTHORIZATION"
    assert data["createdAt"] == T0 and data["institutionId"] == "modelo-sandbox"
    assert data["applicationUserId"] == "string" and uuid.UUID(data["userUuid"])
    assert data["featureScope"] == SEED_FEATURES
    assert re.fullmatch(r"[0-9a-f]{32}", data["state"])
    assert data["institutionConsentId"].startswith("aac-")
    for absent in ("consentToken", "authorizedAt", "expiresAt", "timeToExpire"):
        assert absent not in data
    sandbox = "http://localhost/__sandbox/yapily"
    access = query(data["authorisationUrl"])["access"][0]
    assert len(access) >= 22  # an unguessable page-access key the API handed to this app
    assert data["authorisationUrl"] == (
        f"{sandbox}/authorise/{data['id']}?state={data['state']}&access={access}"
    )
    assert data["qrCodeUrl"] == f"{sandbox}/qr/{data['id']}?access={access}"
    assert response.headers["Location"] == f"http://localhost/yapily/consents/{data['id']}"
    shown = consent(client, data["id"])
    assert shown == {k: v for k, v in data.items() if k not in ("authorisationUrl", "qrCodeUrl")}
    qr = client.get(data["qrCodeUrl"])
    assert qr.status_code == 200 and f"authorise/{data['id']}?state=" in qr.text
    assert f"access={access}" in qr.text


def test_account_request_details_are_kept(client: FlaskClient) -> None:
    data = start(
        client,
        accountRequest={
            "transactionFrom": "2020-01-01T00:00:00Z",
            "transactionTo": "2021-01-01T00:00:00+01:00",
            "featureScope": ["ACCOUNTS", "IDENTITY"],
            "accountIdentifiers": {
                "accountId": "500000000000000000000001",
                "accountIdentification": {"type": "SORT_CODE", "identification": "401016"},
            },
        },
        forwardParameters=["ref=42"],
        unknownField=True,
    )
    assert data["transactionFrom"] == "2020-01-01T00:00:00.000Z"
    assert data["transactionTo"] == "2020-12-31T23:00:00.000Z"
    assert data["featureScope"] == ["ACCOUNTS", "IDENTITY"]


def test_users_are_implicit_per_application(client: FlaskClient) -> None:
    first = start(client, applicationUserId="mofe-2")
    again = start(client, applicationUserId="mofe-2")
    assert again["userUuid"] == first["userUuid"]
    by_uuid = json_of(
        client.post(
            "/yapily/account-auth-requests",
            json={"institutionId": "modelo-sandbox", "userUuid": first["userUuid"].upper()},
            headers=h(),
        )
    )["data"]
    assert by_uuid["userUuid"] == first["userUuid"]
    assert by_uuid["applicationUserId"] == "mofe-2"
    other_app = start(client, "app-b", applicationUserId="mofe-2")
    assert other_app["userUuid"] != first["userUuid"]
    stranger = str(uuid.uuid4())
    new_user = json_of(
        client.post(
            "/yapily/account-auth-requests",
            json={"institutionId": "yapily-mock", "userUuid": stranger},
            headers=h(),
        )
    )["data"]
    assert new_user["userUuid"] == stranger and "applicationUserId" not in new_user
    mismatch = client.post(
        "/yapily/account-auth-requests",
        json={"institutionId": "x", "userUuid": stranger, "applicationUserId": "mofe-2"},
        headers=h(),
    )
    error = legacy_error(mismatch, 409)
    assert error["status"] == "CONFLICT" and "do not name the same user" in error["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"applicationUserId": "u"}, "institutionId is required"),
        ({"institutionId": "modelo-sandbox"}, "Either userUuid or applicationUserId"),
        ({"institutionId": "", "applicationUserId": "u"}, "institutionId"),
        ({"institutionId": "m", "applicationUserId": ""}, "applicationUserId"),
        ({"institutionId": "m", "userUuid": "mofe-2"}, "userUuid"),
        ({"institutionId": "m", "applicationUserId": "u", "oneTimeToken": True}, "callback"),
        ({"institutionId": "m", "applicationUserId": "u", "callback": "not a url"}, "callback"),
        ({"institutionId": "m", "applicationUserId": "u", "redirect": {"url": "/x"}}, "redirect"),
        ({"institutionId": "m", "applicationUserId": "u", "redirect": {}}, "url is required"),
        (
            {"institutionId": "m", "applicationUserId": "u", "accountRequest": {"expiresAt": "1"}},
            "expiresAt",
        ),
        (
            {
                "institutionId": "m",
                "applicationUserId": "u",
                "accountRequest": {"featureScope": ["READ_EVERYTHING"]},
            },
            "featureScope",
        ),
        ([], "body"),
    ],
)
def test_account_auth_request_refuses_bad_bodies(
    client: FlaskClient, body: Any, fragment: str
) -> None:
    response = client.post("/yapily/account-auth-requests", json=body, headers=h())
    error = legacy_error(response, 400)
    assert fragment in error["message"]


def test_malformed_json_and_other_media_types(client: FlaskClient) -> None:
    broken = client.post(
        "/yapily/account-auth-requests", data="{", headers=h(), content_type="application/json"
    )
    assert "does not conform" in legacy_error(broken, 400)["message"]
    charset = client.post(
        "/yapily/account-auth-requests",
        data='{"institutionId": "m", "applicationUserId": "u"}',
        headers=h(),
        content_type="application/json;charset=UTF-8",
    )
    assert charset.status_code == 201
    xml = client.post(
        "/yapily/account-auth-requests", data="<x/>", headers=h(), content_type="application/xml"
    )
    assert legacy_error(xml, 415)["status"] == "UNSUPPORTED_MEDIA_TYPE"


# -- the journey: approve, reject, tokens, exchanges -----------------------------------------------
def test_approve_authorises_with_a_signed_consent_token(client: FlaskClient) -> None:
    started = start(client, callback=f"{CALLBACK}?keep=1", forwardParameters=["ref=42", "flag"])
    target = decide(client, started, "approve")
    assert target.startswith(CALLBACK)
    authorised = consent(client, started["id"])
    assert authorised["status"] == "AUTHORIZED"
    assert authorised["authorizedAt"] == T0 and authorised["lastConfirmedAt"] == T0
    assert authorised["reconfirmBy"] == "2026-04-05T09:30:00.000Z"
    assert authorised["expiresAt"] == "2026-04-05T09:30:00.000Z"
    assert authorised["timeToExpireInMillis"] == 90 * 86_400_000
    assert authorised["timeToExpire"] == "PT2160H"
    token = authorised["consentToken"]
    header = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert header == b'{"typ":"JWT","alg":"HS512"}'
    assert verify_token(token) == {
        "INSTITUTION": "modelo-sandbox",
        "CONSENT": started["id"],
        "APPLICATION_USER_ID": "user-1",
        "USER": started["userUuid"],
    }
    assert verify_token(token[:-2] + "xx") is None
    assert query(target) == {
        "keep": ["1"],
        "consent": [token],
        "application-user-id": ["user-1"],
        "user-uuid": [started["userUuid"]],
        "institution": ["modelo-sandbox"],
        "ref": ["42"],
        "flag": [""],
    }


def test_reject_sets_rejected_and_tells_the_callback(client: FlaskClient) -> None:
    started = start(client, callback=CALLBACK, forwardParameters=["ref=42"])
    target = decide(client, started, "reject")
    assert consent(client, started["id"])["status"] == "REJECTED"
    params = query(target)
    assert params["error"] == ["access_denied"] and params["error-source"] == ["user"]
    assert params["error-description"] and params["ref"] == ["42"]
    assert params["institution"] == ["modelo-sandbox"] and "consent" not in params


def test_the_page_refuses_bad_links_and_second_answers(client: FlaskClient) -> None:
    started = start(client, callback=CALLBACK)
    url = urlsplit(started["authorisationUrl"])
    path, access = url.path, query(started["authorisationUrl"])["access"][0]
    assert client.get(f"{path}?state=wrong&access={access}").status_code == 403
    assert client.get(f"/__sandbox/yapily/authorise/{uuid.uuid4()}?state=x").status_code == 404
    page = client.get(f"{path}?{url.query}").text
    journey = re.search(r"name='journey' value='([^']+)'", page)
    assert journey is not None and "Modelo Sandbox" in page and "user-1" in page
    form = {"journey": journey.group(1), "decision": "maybe"}
    assert client.post(f"{path}/decision", data=form).status_code == 400
    form["journey"] = "forged"
    assert client.post(f"{path}/decision", data=form).status_code == 403
    decide(client, started, "approve")
    assert client.get(f"{path}?{url.query}").status_code == 409


def test_without_callback_or_redirect_the_page_just_finishes(client: FlaskClient) -> None:
    started = start(client)
    assert decide(client, started, "reject") == ""
    assert consent(client, started["id"])["status"] == "REJECTED"


def test_auth_code_exchange_is_single_use(client: FlaskClient) -> None:
    started = start(client, redirect={"url": "https://client.example/oauth"})
    params = query(decide(client, started, "approve"))
    code, state = params["code"][0], params["state"][0]
    assert state == started["state"]
    exchange = "/yapily/consent-auth-code"
    wrong_state = client.post(exchange, json={"authCode": code, "authState": "x"}, headers=h())
    assert legacy_error(wrong_state, 404)["status"] == "NOT_FOUND"
    foreign = client.post(
        exchange, json={"authCode": code, "authState": state}, headers=h("app-b", "s")
    )
    assert foreign.status_code == 404
    done = client.post(exchange, json={"authCode": code, "authState": state}, headers=h())
    assert done.status_code == 200 and "meta" not in json_of(done)
    assert json_of(done)["id"] == started["id"] and json_of(done)["status"] == "AUTHORIZED"
    assert verify_token(json_of(done)["consentToken"]) is not None
    again = client.post(exchange, json={"authCode": code, "authState": state}, headers=h())
    assert "already used" in legacy_error(again, 404)["message"]


def test_auth_code_lasts_ten_minutes(client: FlaskClient) -> None:
    started = start(client, redirect={"url": "https://client.example/oauth"})
    params = query(decide(client, started, "approve"))
    advance(client, "PT10M")
    body = {"authCode": params["code"][0], "authState": params["state"][0]}
    assert client.post("/yapily/consent-auth-code", json=body, headers=h()).status_code == 404


def test_rejection_at_a_redirect_url_is_an_oauth_error(client: FlaskClient) -> None:
    started = start(client, redirect={"url": "https://client.example/oauth"})
    params = query(decide(client, started, "reject"))
    assert params["error"] == ["access_denied"] and params["state"] == [started["state"]]
    assert "code" not in params


def test_one_time_token_exchange_is_single_use(client: FlaskClient) -> None:
    started = start(client, callback=CALLBACK, oneTimeToken=True)
    params = query(decide(client, started, "approve"))
    assert set(params) == {"one-time-token"}
    ott = params["one-time-token"][0]
    claims = verify_token(ott)
    assert claims is not None and claims["INSTITUTION"] == "modelo-sandbox"
    exchange = "/yapily/consent-one-time-token"
    assert (
        client.post(exchange, json={"oneTimeToken": ott}, headers=h("app-b", "s")).status_code
        == 404
    )
    done = client.post(exchange, json={"oneTimeToken": ott}, headers=h())
    assert done.status_code == 201
    assert done.headers["Location"] == f"http://localhost/yapily/consents/{started['id']}"
    assert json_of(done)["status"] == "AUTHORIZED" and json_of(done)["consentToken"]
    assert client.post(exchange, json={"oneTimeToken": ott}, headers=h()).status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/yapily/consent-one-time-token", {}),
        ("/yapily/consent-one-time-token", {"oneTimeToken": 5}),
        ("/yapily/consent-auth-code", {"authCode": "c"}),
        ("/yapily/consent-auth-code", None),
    ],
)
def test_exchanges_validate_their_bodies(client: FlaskClient, path: str, body: Any) -> None:
    response = (
        client.post(path, json=body, headers=h())
        if body is not None
        else client.post(path, headers=h())
    )
    assert legacy_error(response, 400)["status"] == "BAD_REQUEST"


def test_exchanges_need_credentials(client: FlaskClient) -> None:
    response = client.post("/yapily/consent-one-time-token", json={"oneTimeToken": "x"})
    assert legacy_error(response, 401)["status"] == "UNAUTHORIZED"


# -- the clock -------------------------------------------------------------------------------------
def test_authorized_expires_at_expires_at(client: FlaskClient) -> None:
    started = start(client, callback=CALLBACK)
    decide(client, started, "approve")
    advance(client, "P89DT23H59M59S")
    before = consent(client, started["id"])
    assert before["status"] == "AUTHORIZED" and before["timeToExpire"] == "PT1S"
    assert before["timeToExpireInMillis"] == 1000
    advance(client, "PT1S")
    expired = consent(client, started["id"])
    assert expired["status"] == "EXPIRED" and expired["consentToken"]
    assert "timeToExpire" not in expired and "timeToExpireInMillis" not in expired
    assert ids(client, "limit=10&filter[status]=EXPIRED") == [started["id"]]
    assert ids(client, "limit=10&filter[status]=AUTHORIZED") == []


def test_a_requested_expiry_is_a_hard_end(client: FlaskClient) -> None:
    started = start(client, callback=CALLBACK, accountRequest={"expiresAt": "2026-01-06T09:30:00Z"})
    decide(client, started, "approve")
    authorised = consent(client, started["id"])
    assert authorised["expiresAt"] == "2026-01-06T09:30:00.000Z"
    assert authorised["timeToExpire"] == "PT24H"
    advance(client, "P1D")
    assert consent(client, started["id"])["status"] == "EXPIRED"


def test_a_past_requested_expiry_expires_at_once(client: FlaskClient) -> None:
    started = start(client, callback=CALLBACK, accountRequest={"expiresAt": "2020-01-01T00:00:00Z"})
    decide(client, started, "approve")
    assert consent(client, started["id"])["status"] == "EXPIRED"


def test_the_clock_moves_per_application(client: FlaskClient) -> None:
    mine = admin_consent(client, status="AUTHORIZED")
    theirs = admin_consent(client, tenant="app-b", status="AUTHORIZED")
    advance(client, "P91D", tenant="app-a")
    assert consent(client, mine["id"])["status"] == "EXPIRED"
    assert consent(client, theirs["id"], "app-b")["status"] == "AUTHORIZED"


# -- extend ----------------------------------------------------------------------------------------
def v2_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.content_type == "application/json;charset=UTF-8"
    error: dict[str, Any] = response.json["error"]
    assert error["code"] == status and error["source"] == "YAPILY"
    assert re.fullmatch(r"[0-9a-f]{32}", error["tracingId"])
    return error


def test_extend_reconfirms_and_moves_the_default_expiry(client: FlaskClient) -> None:
    made = admin_consent(client, status="AUTHORIZED")
    advance(client, "P30D")
    response = client.post(
        f"/yapily/consents/{made['id']}/extend",
        json={"lastConfirmedAt": "2026-02-01T10:59:53.288Z"},
        headers=h(),
    )
    assert response.status_code == 200
    data = json_of(response)["data"]
    assert data["lastConfirmedAt"] == "2026-02-01T10:59:53.288Z"
    assert data["reconfirmBy"] == "2026-05-02T10:59:53.288Z"
    assert data["expiresAt"] == "2026-05-02T10:59:53.288Z"
    assert data["authorizedAt"] == made["authorizedAt"]
    assert consent(client, made["id"]) == data
    advance(client, "P61D")
    assert consent(client, made["id"])["status"] == "AUTHORIZED"


def test_extend_keeps_a_requested_expiry(client: FlaskClient) -> None:
    started = start(client, callback=CALLBACK, accountRequest={"expiresAt": "2026-03-01T00:00:00Z"})
    decide(client, started, "approve")
    response = client.post(
        f"/yapily/consents/{started['id']}/extend", json={"lastConfirmedAt": T0}, headers=h()
    )
    assert response.status_code == 200
    assert json_of(response)["data"]["expiresAt"] == "2026-03-01T00:00:00.000Z"
    assert json_of(response)["data"]["reconfirmBy"] == "2026-04-05T09:30:00.000Z"


def test_extend_refuses_what_it_must(client: FlaskClient) -> None:
    authorised = admin_consent(client, status="AUTHORIZED", authorizedAt="2026-01-01T00:00:00Z")
    url = f"/yapily/consents/{authorised['id']}/extend"
    future = v2_error(
        client.post(url, json={"lastConfirmedAt": "2026-01-05T09:30:01Z"}, headers=h()), 400
    )
    assert future["issues"] == [
        {
            "type": "INVALID_REQUEST",
            "code": "INVALID_PROPERTY_UNEXPECTED_VALUE",
            "parameter": "$.lastConfirmedAt",
            "message": "lastConfirmedAt cannot be a future date and time",
        }
    ]
    early = v2_error(
        client.post(url, json={"lastConfirmedAt": "2025-12-31T23:59:59Z"}, headers=h()), 400
    )
    assert "before" in early["issues"][0]["message"]
    missing = v2_error(client.post(url, json={}, headers=h()), 400)
    assert missing["issues"][0]["parameter"] == "$.lastConfirmedAt"
    assert missing["issues"][0]["code"] == "MISSING_PROPERTY"
    bad_date = v2_error(client.post(url, json={"lastConfirmedAt": "yesterday"}, headers=h()), 400)
    assert bad_date["issues"][0]["type"] == "INVALID_REQUEST"
    awaiting = start(client)
    wrong_state = v2_error(
        client.post(
            f"/yapily/consents/{awaiting['id']}/extend", json={"lastConfirmedAt": T0}, headers=h()
        ),
        400,
    )
    assert wrong_state["issues"][0]["code"] == "INVALID_CONSENT_STATUS"
    unknown = v2_error(
        client.post(
            f"/yapily/consents/{uuid.uuid4()}/extend", json={"lastConfirmedAt": T0}, headers=h()
        ),
        404,
    )
    assert unknown["issues"][0]["type"] == "NOT_FOUND"
    not_uuid = v2_error(
        client.post("/yapily/consents/42/extend", json={"lastConfirmedAt": T0}, headers=h()), 400
    )
    assert not_uuid["issues"][0]["parameter"] == "consentId"
    anonymous = client.post(url, json={"lastConfirmedAt": T0})
    assert legacy_error(anonymous, 401)["message"].startswith("Full authentication")


def test_an_expired_consent_cannot_be_extended(client: FlaskClient) -> None:
    made = admin_consent(client, status="AUTHORIZED")
    advance(client, "P90D")
    response = client.post(
        f"/yapily/consents/{made['id']}/extend", json={"lastConfirmedAt": T0}, headers=h()
    )
    assert "EXPIRED" in v2_error(response, 400)["issues"][0]["message"]


# -- DELETE ----------------------------------------------------------------------------------------
def test_delete_revokes_keeps_the_consent_and_is_repeatable(client: FlaskClient) -> None:
    made = admin_consent(client, status="AUTHORIZED", createdAt="2026-01-01T08:00:00.123Z")
    url = f"/yapily/consents/{made['id']}"
    for _ in range(2):
        response = client.delete(url, headers=h())
        assert response.status_code == 200
        assert response.content_type == "application/json;charset=UTF-8"
        assert json_of(response)["data"] == {
            "id": made["id"],
            "deleteStatus": "SUCCESS",
            "institutionId": "modelo-sandbox",
            "institutionConsentId": made["institutionConsentId"],
            "creationDate": "2026-01-01T08:00:00.123Z",
        }
    revoked = consent(client, made["id"])
    assert revoked["status"] == "REVOKED" and revoked["isDeletedByInstitution"] is True
    assert revoked["consentToken"] == made["consentToken"]
    assert ids(client, "limit=5&filter[status]=REVOKED") == [made["id"]]
    advance(client, "P365D")
    assert consent(client, made["id"])["status"] == "REVOKED"


def test_delete_revokes_from_any_status_and_takes_force_delete(client: FlaskClient) -> None:
    started = start(client)
    response = client.delete(f"/yapily/consents/{started['id']}?forceDelete=false", headers=h())
    assert response.status_code == 200
    assert consent(client, started["id"])["status"] == "REVOKED"
    bad = client.delete(f"/yapily/consents/{started['id']}?forceDelete=maybe", headers=h())
    assert legacy_error(bad, 400)["status"] == "BAD_REQUEST"


def test_unknown_and_malformed_ids(client: FlaskClient) -> None:
    for method in (client.get, client.delete):
        missing = method(f"/yapily/consents/{uuid.uuid4()}", headers=h())
        assert "not found" in legacy_error(missing, 404)["message"]
        malformed = method("/yapily/consents/42", headers=h())
        assert legacy_error(malformed, 400)["message"] == "consentId must be a uuid"


def test_unmatched_routes_answer_in_yapily_format(client: FlaskClient) -> None:
    assert legacy_error(client.get("/yapily/accounts", headers=h()), 404)["status"] == "NOT_FOUND"
    wrong = client.put("/yapily/consents", headers=h())
    assert legacy_error(wrong, 405)["status"] == "METHOD_NOT_ALLOWED"


def test_secrets_are_masked_in_the_journal(client: FlaskClient) -> None:
    secret = "a-one-time-token-that-is-long"
    client.post("/yapily/consent-one-time-token", json={"oneTimeToken": secret}, headers=h())
    entries = json_of(client.get("/__admin/requests?provider=yapily"))["requests"]
    assert entries[0]["body"]["oneTimeToken"] == "****"
    assert entries[0]["headers"]["Authorization"] == "Basic app-a:****"
    assert entries[0]["tenant"] == "app-a"


# -- the admin API ---------------------------------------------------------------------------------
@pytest.mark.parametrize("status", STATUSES)
def test_admin_creates_consents_in_every_status(client: FlaskClient, status: str) -> None:
    made = admin_consent(client, status=status, institutionId="bbva-sandbox")
    assert made["status"] == status
    shown = consent(client, made["id"])
    assert shown["status"] == status and shown["institutionId"] == "bbva-sandbox"
    assert shown["applicationUserId"] == "sandbox-user" and shown["createdAt"] == T0
    authorised = {"AUTHORIZED", "EXPIRED", "REVOKED", "CONSUMED", "AWAITING_RE_AUTHORIZATION"}
    # a pre-authorisation gives a token too (for updatePreAuthoriseAccountConsent)
    assert ("consentToken" in shown) == (status in authorised | {"PRE_AUTHORIZED"})
    assert ("authorizedAt" in shown) == (status in authorised)
    if status == "AWAITING_AUTHORIZATION":
        assert made["authorisationUrl"].startswith("http://localhost/__sandbox/yapily/authorise/")
    if status == "EXPIRED":
        assert shown["expiresAt"] == T0


def test_admin_awaiting_consent_can_take_the_journey(client: FlaskClient) -> None:
    made = admin_consent(client, callback=CALLBACK)
    target = decide(client, made, "approve")
    assert query(target)["consent"] == [consent(client, made["id"])["consentToken"]]


def test_admin_transitions(client: FlaskClient) -> None:
    made = admin_consent(client)
    moved = client.post(
        f"/__admin/yapily/consents/{made['id']}/status",
        json={"status": "AUTHORIZED", "expiresAt": "2026-02-01T00:00:00Z"},
    )
    assert moved.status_code == 200
    assert (
        json_of(moved)["authorizedAt"] == T0
        and json_of(moved)["expiresAt"] == "2026-02-01T00:00:00.000Z"
    )
    assert verify_token(json_of(moved)["consentToken"]) is not None
    expired = client.post(
        f"/__admin/yapily/consents/{made['id']}/status", json={"status": "EXPIRED"}
    )
    assert expired.status_code == 200 and json_of(expired)["expiresAt"] == T0
    assert consent(client, made["id"])["status"] == "EXPIRED"
    revoked = client.post(
        f"/__admin/yapily/consents/{made['id']}/status", json={"status": "revoked"}
    )
    assert revoked.status_code == 200
    refused = client.post(
        f"/__admin/yapily/consents/{made['id']}/status", json={"status": "AUTHORIZED"}
    )
    assert refused.status_code == 409 and json_of(refused)["allowed"] == []
    rejected = admin_consent(client, status="REJECTED")
    again = client.post(
        f"/__admin/yapily/consents/{rejected['id']}/status", json={"status": "AUTHORIZED"}
    )
    assert again.status_code == 409 and json_of(again)["allowed"] == ["REVOKED"]
    shown = json_of(client.get(f"/__admin/yapily/consents/{made['id']}"))
    assert shown["tenant"] == "app-a" and shown["allowedTransitions"] == []


def test_admin_approve_and_reject(client: FlaskClient) -> None:
    approved = client.post(
        f"/__admin/yapily/consents/{admin_consent(client)['id']}/approve",
        json={"expiresAt": "2026-01-05T10:30:00Z"},
    )
    assert approved.status_code == 200 and json_of(approved)["status"] == "AUTHORIZED"
    assert json_of(approved)["expiresAt"] == "2026-01-05T10:30:00.000Z"
    assert verify_token(json_of(approved)["consentToken"]) is not None
    rejected = client.post(f"/__admin/yapily/consents/{admin_consent(client)['id']}/reject")
    assert rejected.status_code == 200 and json_of(rejected)["status"] == "REJECTED"
    assert "consentToken" not in json_of(rejected)
    twice = client.post(f"/__admin/yapily/consents/{json_of(approved)['id']}/reject")
    assert twice.status_code == 409


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "ACTIVE"},
        {"colour": "blue"},
        {"id": "not-a-uuid"},
        {"userUuid": "mofe-2"},
        {"featureScope": ["READ_EVERYTHING"]},
        {"featureScope": []},
        {"createdAt": "yesterday"},
        {"callback": "not a url"},
        {"oneTimeToken": True},
        {"authorizedAt": "2026-01-01T00:00:00Z"},
        {"status": "AUTHORIZED", "isDeletedByInstitution": "yes"},
    ],
)
def test_admin_refuses_bad_fields(client: FlaskClient, fields: dict[str, Any]) -> None:
    response = client.post("/__admin/yapily/consents", json={"tenant": "app-a", **fields})
    assert response.status_code == 400 and json_of(response)["error"] == "bad_request"


def test_admin_refuses_bad_transition_options(client: FlaskClient) -> None:
    made = admin_consent(client)
    url = f"/__admin/yapily/consents/{made['id']}/status"
    assert client.post(url, json={"status": "AUTHORIZED", "colour": 1}).status_code == 400
    assert client.post(url, json={"status": "REJECTED", "expiresAt": T0}).status_code == 400


def test_admin_users_stay_consistent(client: FlaskClient) -> None:
    one = admin_consent(client, applicationUserId="kim")
    two = admin_consent(client, applicationUserId="kim")
    assert one["userUuid"] == two["userUuid"]
    clash = client.post(
        "/__admin/yapily/consents",
        json={"tenant": "app-a", "applicationUserId": "kim", "userUuid": str(uuid.uuid4())},
    )
    assert clash.status_code == 400


# -- fixtures and factories ------------------------------------------------------------------------
def test_fixture_has_every_status_institutions_and_users(clock: SimClock) -> None:
    app = create_app(["yapily"], strict=True, clock=clock, fixtures=ROOT / "fixtures")
    client = app.test_client()
    headers = h("sandbox-yapily-app", "sandbox-yapily-secret")
    data = json_of(client.get("/yapily/consents?limit=1000", headers=headers))["data"]
    assert {c["status"] for c in data} == set(STATUSES)
    assert len({c["institutionId"] for c in data}) >= 4
    users: dict[str, str] = {}
    for item in data:
        if "applicationUserId" in item:
            assert users.setdefault(item["applicationUserId"], item["userUuid"]) == item["userUuid"]
    assert len(users) >= 5
    first = "5a0e7c3e-6f1d-4c25-9d1a-000000000001"
    # the page needs a key the API hands out: a fixture's id and state alone open nothing
    page = client.get(f"/__sandbox/yapily/authorise/{first}?state=0000000000000000000000000000a001")
    assert page.status_code == 403


def test_factory_consents_are_reproducible_and_accepted(client: FlaskClient) -> None:
    made = make_consents("yapily", 25, seed=7)
    assert made == make_consents("yapily", 25, seed=7)
    for fields in made:
        admin_consent(client, **fields)
    assert json_of(client.get("/yapily/consents?limit=100", headers=h()))["meta"]["count"] == 25


@pytest.mark.parametrize(
    ("params", "echo"),
    [
        ("from=0000-01-01T00:00:00Z", {"from": "0001-01-01T00:00:00.000Z"}),
        ("from=0001-01-01T00:00:00%2B01:00", {"from": "0001-01-01T00:00:00.000Z"}),
        ("before=9999-12-31T23:59:59-14:00", {"before": "9999-12-31T23:59:59.999Z"}),
        ("before=2021-06-30T23:59:59.999999999-0130", {"before": "2021-07-01T01:29:59.999Z"}),
    ],
)
def test_list_dates_at_the_ends_of_time(
    client: FlaskClient, params: str, echo: dict[str, str]
) -> None:
    response = client.get(f"/yapily/consents?limit=1&{params}", headers=h())
    assert response.status_code == 200
    assert json_of(response)["meta"]["pagination"]["self"] == {
        **echo,
        "limit": 1,
        "sort": "-date",
        "offset": 0,
    }


def test_the_journal_masks_the_one_time_token_but_not_the_request_for_one(
    client: FlaskClient,
) -> None:
    started = start(client, callback=CALLBACK, oneTimeToken=True)
    ott = query(decide(client, started, "approve"))["one-time-token"][0]
    client.post("/yapily/consent-one-time-token", json={"oneTimeToken": ott}, headers=h())
    entries = json_of(client.get("/__admin/requests?provider=yapily"))["requests"]
    bodies = [e["body"] for e in entries if isinstance(e.get("body"), dict)]
    asked = [b for b in bodies if "callback" in b and "oneTimeToken" in b]
    exchanged = [b for b in bodies if set(b) == {"oneTimeToken"}]
    assert asked and all(b["oneTimeToken"] is True for b in asked)
    assert exchanged and all(b["oneTimeToken"] != ott for b in exchanged)
    assert ott not in str(entries)
