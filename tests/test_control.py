"""The control plane over HTTP (Flask's test client): clock, consents, journal, faults, seeding."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import create_app
from mockserver.journal import fingerprint

from conftest import api1_headers as h
from tests_helpers import json_of

BASE = "/api1/api/v1/consents"


def post(client: FlaskClient, path: str, body: Any = None) -> TestResponse:
    return client.post(f"/__admin{path}", json=body if body is not None else {})


# -- health, reset, clock -------------------------------------------------------------------------
def test_health_lists_providers_and_operations(client: FlaskClient) -> None:
    health = json_of(client.get("/__admin/health"))
    assert health["status"] == "ok"
    api1 = health["providers"]["api1"]
    assert api1["mount"] == "/api1" and "createConsent" in api1["operations"]
    assert api1["statuses"] == ["CREATED", "ACCEPTED", "REVOKED", "INACTIVE"]
    assert health["journal"]["capacity"] == 10_000


def test_reset_forgets_everything_and_reloads_fixtures(clock: Any) -> None:
    app = create_app(["api1"], strict=True, clock=clock, fixtures=Path("fixtures"))
    client = app.test_client()
    seeded = json_of(client.get(BASE, headers=h("sandbox-api1-key")))["meta"]["totalCount"]
    assert seeded == 5
    client.post(BASE, json={"name": "extra"}, headers=h("sandbox-api1-key"))
    post(client, "/clock", {"advance": "P1D"})
    post(client, "/faults", {"provider": "api1", "status": 503})
    assert client.post("/__admin/reset").json == {"reset": True, "consents": 5}
    assert json_of(client.get("/__admin/faults"))["faults"] == []
    assert json_of(client.get("/__admin/clock"))["offsetSeconds"] == 0
    assert json_of(client.get(BASE, headers=h("sandbox-api1-key")))["meta"]["totalCount"] == 5
    assert json_of(post(client, "/reset", {"fixtures": False}))["consents"] == 0


def test_clock_read_advance_set_freeze(client: FlaskClient) -> None:
    start = json_of(client.get("/__admin/clock"))
    assert start["now"] == "2026-01-05T09:30:00Z" and start["frozen"] is False
    assert json_of(post(client, "/clock", {"advance": "PT90M"}))["now"] == "2026-01-05T11:00:00Z"
    frozen = json_of(post(client, "/clock", {"set": "2027-03-01T00:00:00Z", "freeze": True}))
    assert frozen == {**frozen, "now": "2027-03-01T00:00:00Z", "frozen": True}
    mine = json_of(post(client, "/clock", {"tenant": "t1", "advance": "P31D"}))
    assert mine["now"] == "2027-04-01T00:00:00Z" and mine["tenants"] == ["t1"]
    assert json_of(client.get("/__admin/clock?tenant=t1"))["now"] == "2027-04-01T00:00:00Z"
    assert json_of(client.get("/__admin/clock"))["now"] == "2027-03-01T00:00:00Z"
    assert json_of(post(client, "/clock", {"reset": True}))["now"] == "2026-01-05T09:30:00Z"


@pytest.mark.parametrize(
    "body",
    [
        {"advance": "P1M"},
        {"advance": "soon"},
        {"set": "yesterday"},
        {},
        {"speed": 2},
        {"tenant": 5, "advance": "P1D"},
    ],
)
def test_clock_refuses_bad_input(client: FlaskClient, body: dict[str, Any]) -> None:
    response = post(client, "/clock", body)
    assert response.status_code == 400 and json_of(response)["error"] == "bad_request"


def test_admin_refuses_a_body_that_is_not_an_object(client: FlaskClient) -> None:
    response = client.post("/__admin/clock", data="[1]", content_type="application/json")
    assert response.status_code == 400


# -- consents and transitions ---------------------------------------------------------------------
def test_admin_creates_a_consent_in_any_state_as_the_api_shows_it(client: FlaskClient) -> None:
    response = post(
        client,
        "/api1/consents",
        {"tenant": "k1", "status": "ACCEPTED", "name": "Acme", "source": "fortnox"},
    )
    assert response.status_code == 201
    shown = json_of(response)
    assert shown["status"] == 1 and shown["source"] == "fortnox"
    assert shown["systemSettings"] == {"fortnox": shown["systemSettingsId"]}
    via_api = client.get(f"{BASE}/{shown['id']}", headers=h("k1"))
    assert via_api.json == shown
    assert via_api.headers["ETag"] == response.headers["ETag"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"status": "ACCEPTED"}, "'tenant' is required"),
        ({"tenant": "k", "status": "SLEEPING"}, "not a api1 status"),
        ({"tenant": "k", "source": "ledgerly"}, "not an API.1 system"),
        ({"tenant": "k", "colour": "red"}, "unknown consent fields: colour"),
        ({"tenant": "k", "id": "42"}, "id must be a uuid"),
        ({"tenant": "k", "createdOn": "last week"}, "createdOn must be an RFC 3339"),
    ],
)
def test_admin_create_refuses_bad_fields(
    client: FlaskClient, body: dict[str, Any], fragment: str
) -> None:
    response = post(client, "/api1/consents", body)
    assert response.status_code == 400 and fragment in json_of(response)["message"]
    assert post(client, "/nobody/consents", {"tenant": "k"}).status_code == 400


def test_transitions_follow_the_provider_and_refusals_list_what_is_allowed(
    client: FlaskClient,
) -> None:
    consent = json_of(post(client, "/api1/consents", {"tenant": "k1"}))
    path = f"/api1/consents/{consent['id']}/status"
    refused = post(client, path, {"status": "INACTIVE"})
    assert refused.status_code == 409
    assert json_of(refused)["allowed"] == ["ACCEPTED", "REVOKED"]
    assert json_of(refused)["current"] == "CREATED"
    accepted = post(client, path, {"status": "ACCEPTED", "source": "xero"})
    assert accepted.status_code == 200 and json_of(accepted)["source"] == "xero"
    assert json_of(post(client, path, {"status": 2}))["status"] == 2
    final = post(client, path, {"status": "ACCEPTED"})
    assert final.status_code == 409 and json_of(final)["allowed"] == []
    assert post(client, f"/api1/consents/{uuid.uuid4()}/status", {"status": 2}).status_code == 404
    shown = json_of(client.get(f"/__admin/api1/consents/{consent['id']}"))
    assert shown["status"] == "REVOKED" and shown["tenant"] == fingerprint("k1")
    assert shown["version"] == 3


def test_approve_and_reject(client: FlaskClient) -> None:
    one = json_of(post(client, "/api1/consents", {"tenant": "k1"}))
    two = json_of(post(client, "/api1/consents", {"tenant": "k1"}))
    assert json_of(post(client, f"/api1/consents/{one['id']}/approve", {}))["status"] == 1
    assert json_of(post(client, f"/api1/consents/{two['id']}/reject", {}))["status"] == 2
    assert post(client, f"/api1/consents/{two['id']}/approve", {}).status_code == 409


# -- journal --------------------------------------------------------------------------------------
def test_journal_records_requests_with_their_verdict(client: FlaskClient) -> None:
    client.post(BASE, json={"name": "ok"}, headers=h("secret-api-key-0001"))
    client.get(f"{BASE}?Count=0", headers=h("secret-api-key-0001"))
    entries = json_of(client.get("/__admin/requests"))["requests"]
    created, listed = entries[-2], entries[-1]
    assert created["operation"] == "createConsent" and created["status"] == 201
    assert created["valid"] is True and created["violations"] == []
    assert created["method"] == "POST" and created["path"] == BASE
    assert created["durationMs"] >= 0 and created["tenant"] == fingerprint("secret-api-key-0001")
    assert listed["valid"] is False
    assert listed["violations"][0]["name"] == "Count"
    assert "minimum" in listed["violations"][0]["message"]


def test_journal_masks_secrets(client: FlaskClient) -> None:
    key = "very-secret-api-key-123456"
    client.get(BASE, headers=h(key))
    text = client.get("/__admin/requests").get_data(as_text=True)
    assert key not in text
    entry = json_of(client.get("/__admin/requests"))["requests"][-1]
    assert entry["headers"]["X-Api-Key"] == "****"


def test_journal_filters(client: FlaskClient) -> None:
    client.post(BASE, json={"name": "a"}, headers=h("k1"))
    client.get(BASE, headers=h("k1"))
    client.get(BASE, headers=h("k2"))
    client.get(f"{BASE}/{uuid.uuid4()}", headers=h("k2"))

    def count(query: str) -> int:
        return int(json_of(client.get(f"/__admin/requests?{query}"))["total"])

    assert count("operation=listConsents") == 2
    assert count("status=404") == 1
    assert count("provider=api1") == 4
    assert count("tenant=k2") == 2
    assert count("valid=true") == 4
    assert count("since=2026-01-05T09:30:00Z") == 4 and count("since=2026-01-06") == 0
    first = json_of(client.get("/__admin/requests"))["requests"][0]["id"]
    assert count(f"after={first}") == 3
    assert client.get("/__admin/requests?status=abc").status_code == 400
    assert client.delete("/__admin/requests").json == {"deleted": 4}
    assert count("") == 0


def test_journal_is_a_bounded_ring(clock: Any) -> None:
    app = create_app(["api1"], clock=clock, journal_size=3)
    client = app.test_client()
    for _ in range(5):
        client.get(BASE, headers=h())
    entries = json_of(client.get("/__admin/requests"))["requests"]
    assert [e["id"] for e in entries] == [3, 4, 5]


def test_unmatched_requests_list_the_nearest_operations(client: FlaskClient) -> None:
    client.get("/api1/api/v1/consent", headers=h())
    client.put(f"{BASE}/{uuid.uuid4()}", headers=h())
    unmatched = json_of(client.get("/__admin/requests/unmatched"))["requests"]
    assert len(unmatched) == 2
    typo, method = unmatched
    assert typo["status"] == 404
    assert typo["nearest"][0]["operation"] in {"listConsents", "createConsent"}
    assert "does not match /api/v1/consents" in typo["nearest"][0]["why"]
    assert method["status"] == 405
    assert method["nearest"][0]["pathMatches"] is True
    assert "method PUT is not" in method["nearest"][0]["why"]


# -- faults ---------------------------------------------------------------------------------------
def test_status_fault_for_n_requests_in_the_provider_format(client: FlaskClient) -> None:
    consent_id = json_of(client.post(BASE, json={"name": "a"}, headers=h()))["id"]
    fault = post(
        client,
        "/faults",
        {"provider": "api1", "operation": "getConsent", "status": 503, "times": 2},
    )
    assert fault.status_code == 201 and json_of(fault)["remaining"] == 2
    for _ in range(2):
        response = client.get(f"{BASE}/{consent_id}", headers=h())
        assert response.status_code == 503
        assert json_of(response)["title"] == "Service Unavailable"
    assert client.get(f"{BASE}/{consent_id}", headers=h()).status_code == 200
    assert json_of(client.get("/__admin/faults"))["faults"] == []


def test_fault_with_own_body_matched_by_path_and_tenant(client: FlaskClient) -> None:
    post(
        client,
        "/faults",
        {
            "path": "/api1/api/v1/consents",
            "method": "GET",
            "tenant": "k2",
            "status": 429,
            "body": {"message": "slow down"},
            "headers": {"Retry-After": "3"},
        },
    )
    mine = client.get(BASE, headers=h("k1"))
    assert mine.status_code == 200
    theirs = client.get(BASE, headers=h("k2"))
    assert theirs.status_code == 429 and theirs.json == {"message": "slow down"}
    assert theirs.headers["Retry-After"] == "3"
    assert client.get(BASE, headers=h("k2")).status_code == 429  # until cleared
    assert client.delete("/__admin/faults").json == {"deleted": 1}
    assert client.get(BASE, headers=h("k2")).status_code == 200


def test_delay_fault(client: FlaskClient) -> None:
    fault_id = json_of(post(client, "/faults", {"provider": "api1", "delay_ms": 300}))["id"]
    started = time.perf_counter()
    assert client.get(BASE, headers=h()).status_code == 200
    assert time.perf_counter() - started >= 0.3
    assert client.delete(f"/__admin/faults/{fault_id}").json == {"deleted": 1}
    assert client.delete(f"/__admin/faults/{fault_id}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "nobody", "status": 500},
        {"provider": "api1", "operation": "nope", "status": 500},
        {"provider": "api1"},
        {"status": 99},
        {"status": 500, "times": 0},
        {"delay_ms": -1},
        {"status": 500, "colour": "red"},
        {"drop": "yes"},
    ],
)
def test_bad_faults_are_refused(client: FlaskClient, body: dict[str, Any]) -> None:
    response = post(client, "/faults", body)
    assert response.status_code == 400 and json_of(response)["error"] == "bad_fault"


# -- seeding --------------------------------------------------------------------------------------
def test_seed_a_document_or_a_file(client: FlaskClient, tmp_path: Path) -> None:
    document = {
        "provider": "api1",
        "tenants": [{"tenant": "s1", "consents": [{"status": "CREATED"}, {"status": "REVOKED"}]}],
    }
    assert post(client, "/seed", document).json == {"created": 2}
    path = tmp_path / "more.yaml"
    path.write_text("provider: api1\ntenants:\n  - tenant: s1\n    consents:\n      - {name: x}\n")
    assert post(client, "/seed", {"path": str(path)}).status_code == 201
    assert json_of(client.get(BASE, headers=h("s1")))["meta"]["totalCount"] == 3


def test_a_bad_seed_names_the_place_and_creates_nothing(client: FlaskClient) -> None:
    document = {
        "provider": "api1",
        "tenants": [{"tenant": "s1", "consents": [{"status": "CREATED"}, {"status": "LOST"}]}],
    }
    response = post(client, "/seed", document)
    assert response.status_code == 400
    assert "request body: tenants[0].consents[1]: status 'LOST'" in json_of(response)["message"]
    assert json_of(client.get(BASE, headers=h("s1")))["meta"]["totalCount"] == 0


# -- admin token ----------------------------------------------------------------------------------
def test_admin_token_is_required_when_set(clock: Any) -> None:
    app = create_app(["api1"], clock=clock, admin_token="s3cret")
    client = app.test_client()
    assert client.get("/__admin/health").status_code == 401
    wrong = client.get("/__admin/health", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers
    ok = client.get("/__admin/health", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert client.get(BASE, headers=h()).status_code == 200  # the provider API is unaffected


def _body(response: Any) -> Any:
    """A test client answer's JSON body, typed for indexing."""
    return response.get_json()


def test_a_clock_change_out_of_range_is_refused_and_changes_nothing(client: FlaskClient) -> None:
    before = _body(client.get("/__admin/clock"))
    for body in (
        {"set": "9999-12-31T23:59:59-23:59"},  # past datetime's year 9999: was a 500
        {"set": "0001-01-01T00:00:00+23:59"},
        {"set": "1850-01-01T00:00:00Z", "freeze": True},
        {"advance": "P99999999W"},
        {"advance": "P" + "9" * 400 + "D"},  # beyond timedelta: was a 500
        {"tenant": "t1", "advance": "P3000000D"},
    ):
        refused = post(client, "/clock", body)
        assert refused.status_code == 400 and _body(refused)["error"] == "bad_request", body
    assert _body(client.get("/__admin/clock")) == before  # and the next request still works
    assert client.get(BASE, headers=h()).status_code == 200


def test_reset_takes_a_boolean_fixtures_flag_only(client: FlaskClient) -> None:
    for body in ({"fixtures": "false"}, {"fixtures": None}, {"reseed": False}):
        refused = post(client, "/reset", body)
        assert refused.status_code == 400 and _body(refused)["error"] == "bad_request", body


def test_clock_takes_one_action_with_typed_fields(client: FlaskClient) -> None:
    before = _body(client.get("/__admin/clock"))
    for body in (
        {"advance": "P1D", "set": "2027-01-01T00:00:00Z"},  # was: advance, set ignored
        {"advance": "P1D", "freeze": True},  # was: freeze ignored
        {"reset": True, "advance": "-P"},  # was: reset, the bad duration unseen
        {"reset": False},
        {"advance": 3600},  # was: str(3600), "not a duration"
        {"set": 1767225600},
        {"freeze": "yes"},
    ):
        refused = post(client, "/clock", body)
        assert refused.status_code == 400 and _body(refused)["error"] == "bad_request", body
    assert _body(client.get("/__admin/clock")) == before
    frozen = _body(post(client, "/clock", {"set": "2027-01-01T00:00:00Z", "freeze": True}))
    assert frozen["now"] == "2027-01-01T00:00:00Z" and frozen["frozen"] is True


def test_an_unknown_query_parameter_is_refused_not_ignored(client: FlaskClient) -> None:
    client.get(BASE, headers=h())
    misspelt = client.get("/__admin/requests?stauts=500")  # was: every request, unfiltered
    assert misspelt.status_code == 400
    assert _body(misspelt)["message"].startswith("unknown query parameters: stauts; known: after,")
    assert _body(client.get("/__admin/requests?status=500"))["total"] == 0
    assert client.get("/__admin/health?order=7").status_code == 200  # takes none: a redirect page
    assert client.get("/__admin/api1/consents?tenant=tenant-a&x=1").status_code == 400


def test_fault_numbers_are_json_integers(client: FlaskClient) -> None:
    made = post(client, "/faults", {"status": 503.0, "times": 2.0})  # 503.0 is 503 in JSON
    assert made.status_code == 201 and (_body(made)["status"], _body(made)["times"]) == (503, 2)
    for body in (
        {"status": True},
        {"status": "503"},
        {"delay_ms": 1.5},
        {"drop": True, "times": 0},
    ):
        refused = post(client, "/faults", body)  # True was taken as status 1, then refused
        assert refused.status_code == 400 and _body(refused)["error"] == "bad_fault", body


def test_objects_where_strings_belong_get_400_not_500(client: FlaskClient) -> None:
    """Schemathesis's coverage phase sent these; each was an unhashable lookup (a 500)."""
    for path, body in (
        ("/faults", {"operation": {}, "status": 500}),
        ("/faults", {"provider": [], "status": 500}),
        ("/faults", {"status": 500, "headers": False}),  # was taken as no headers
        ("/seed", {"provider": {}, "tenants": [{"tenant": "t"}]}),
    ):
        refused = post(client, path, body)
        assert refused.status_code == 400 and refused.is_json, (path, body)
    finqware = create_app(["finqware"], fixtures=None).test_client()
    skill = finqware.post("/__admin/finqware/temp-tokens", json={"tenant": "t", "skill": {}})
    assert skill.status_code == 400 and "skill must be one of" in _body(skill)["message"]


def test_a_405_outside_the_providers_names_the_allowed_methods(client: FlaskClient) -> None:
    refused = client.delete("/__admin/clock")
    assert refused.status_code == 405 and _body(refused)["error"] == "method_not_allowed"
    assert set(refused.headers["Allow"].split(", ")) >= {"GET", "POST"}
