"""API.1 behaviour through Flask's test client, strict response checks on every response."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver.app import Simulator
from mockserver.lifecycle import admin_context
from mockserver.providers.api1.handlers import ONE_TIME_CODES

from conftest import api1_headers as h
from tests_helpers import api1_create, json_of

BASE = "/api1/api/v1/consents"


def admin_consent(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/__admin/api1/consents", json={"tenant": "tenant-a", **fields})
    assert response.status_code == 201, response.json
    body = json_of(response)
    return body


def advance(client: FlaskClient, duration: str, tenant: str | None = None) -> None:
    body = {"advance": duration, **({"tenant": tenant} if tenant else {})}
    assert client.post("/__admin/clock", json=body).status_code == 200


# -- create ---------------------------------------------------------------------------------------
def test_create_answers_201_with_location_etag_and_the_consent(client: FlaskClient) -> None:
    response = client.post(BASE, json={"name": "Acme AB"}, headers=h())
    assert response.status_code == 201
    body = json_of(response)
    assert body["name"] == "Acme AB" and body["status"] == 0
    assert set(body) == {
        "id",
        "name",
        "status",
        "source",
        "systemSettingsId",
        "systemSettings",
        "createdOn",
        "updatedOn",
    }
    assert response.headers["Location"] == f"http://localhost{BASE}/{body['id']}"
    follow = client.get(response.headers["Location"], headers=h())
    assert follow.status_code == 200 and follow.json == body
    assert follow.headers["ETag"] == response.headers["ETag"]


@pytest.mark.parametrize("payload", [{}, {"name": ""}, {"name": 42}, {"name": None}])
def test_create_validates_the_body(client: FlaskClient, payload: dict[str, Any]) -> None:
    response = client.post(BASE, json=payload, headers=h())
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    problem = json_of(response)
    assert problem["status"] == 400 and problem["instance"] == BASE
    assert problem["title"] == "One or more validation errors occurred."
    assert "name" in str(problem["errors"]) or "required" in str(problem["errors"])


def test_create_refuses_malformed_json_and_other_media_types(client: FlaskClient) -> None:
    broken = client.post(BASE, data="{", headers=h(), content_type="application/json")
    assert broken.status_code == 400 and broken.content_type == "application/problem+json"
    assert "not valid JSON" in json_of(broken)["detail"]
    xml = client.post(BASE, data="<name/>", headers=h(), content_type="application/xml")
    assert xml.status_code == 415 and json_of(xml)["status"] == 415


def test_an_api_key_is_required(client: FlaskClient) -> None:
    response = client.get(BASE, headers={"x-correlation-id": str(uuid.uuid4())})
    assert response.status_code == 401
    assert json_of(response)["title"] == "Unauthorized"
    assert "x-api-key" in json_of(response)["detail"]


@pytest.mark.parametrize("value", [None, "", "not-a-uuid", "1234"])
def test_correlation_id_is_required_and_a_uuid(client: FlaskClient, value: str | None) -> None:
    headers = {"x-api-key": "tenant-a"}
    if value is not None:
        headers["x-correlation-id"] = value
    response = client.get(BASE, headers=headers)
    assert response.status_code == 400
    assert "x-correlation-id" in json_of(response)["errors"]


# -- read, tenants, ETags -------------------------------------------------------------------------
def test_another_api_key_sees_nothing(client: FlaskClient) -> None:
    consent_id, etag = api1_create(client)
    other = h("tenant-b")
    assert client.get(f"{BASE}/{consent_id}", headers=other).status_code == 404
    patch = client.patch(
        f"{BASE}/{consent_id}", json={"status": 2}, headers={**other, "If-Match": etag}
    )
    assert patch.status_code == 404
    assert client.delete(f"{BASE}/{consent_id}", headers=other).status_code == 404
    assert client.post(f"{BASE}/{consent_id}/otc", headers=other).status_code == 404
    assert json_of(client.get(BASE, headers=other))["meta"]["totalCount"] == 0
    assert client.get(f"{BASE}/{consent_id}", headers=h()).status_code == 200


def test_unknown_and_malformed_ids(client: FlaskClient) -> None:
    assert client.get(f"{BASE}/{uuid.uuid4()}", headers=h()).status_code == 404
    assert client.get(f"{BASE}/42", headers=h()).status_code == 400


def test_if_none_match_gives_304_until_the_consent_changes(client: FlaskClient) -> None:
    consent_id, etag = api1_create(client)
    url = f"{BASE}/{consent_id}"
    not_modified = client.get(url, headers=h(**{"If-None-Match": etag}))
    assert not_modified.status_code == 304 and not_modified.headers["ETag"] == etag
    assert not not_modified.data
    client.patch(url, json={"name": "New"}, headers=h(**{"If-Match": etag}))
    assert client.get(url, headers=h(**{"If-None-Match": etag})).status_code == 200


# -- PATCH ----------------------------------------------------------------------------------------
def test_patch_needs_if_match_and_refuses_a_stale_one(client: FlaskClient) -> None:
    consent_id, etag = api1_create(client)
    url = f"{BASE}/{consent_id}"
    missing = client.patch(url, json={"name": "x"}, headers=h())
    assert missing.status_code == 428 and json_of(missing)["title"] == "Precondition Required"
    first = client.patch(url, json={"name": "x"}, headers=h(**{"If-Match": etag}))
    assert first.status_code == 204 and first.headers["ETag"] != etag
    stale = client.patch(url, json={"name": "y"}, headers=h(**{"If-Match": etag}))
    assert stale.status_code == 412
    assert json_of(client.get(url, headers=h()))["name"] == "x"


def test_patch_changes_only_the_fields_sent(client: FlaskClient) -> None:
    consent_id, etag = api1_create(client, name="Before")
    url = f"{BASE}/{consent_id}"
    response = client.patch(url, json={"name": "After"}, headers=h(**{"If-Match": etag}))
    after = json_of(client.get(url, headers=h()))
    assert after["name"] == "After" and after["status"] == 0
    assert after["updatedOn"] is not None
    client.patch(url, json={"status": 2}, headers=h(**{"If-Match": response.headers["ETag"]}))
    revoked = json_of(client.get(url, headers=h()))
    assert revoked["status"] == 2 and revoked["name"] == "After"


def test_patch_name_to_null(client: FlaskClient) -> None:
    consent_id, etag = api1_create(client)
    url = f"{BASE}/{consent_id}"
    assert (
        client.patch(url, json={"name": None}, headers=h(**{"If-Match": etag})).status_code == 204
    )
    assert json_of(client.get(url, headers=h()))["name"] is None


@pytest.mark.parametrize("status", [0, 1, 3])
def test_patch_can_only_revoke(client: FlaskClient, status: int) -> None:
    consent_id, etag = api1_create(client)
    response = client.patch(
        f"{BASE}/{consent_id}", json={"status": status}, headers=h(**{"If-Match": etag})
    )
    assert response.status_code == 400
    assert json_of(response)["errors"]["status"] == ["2 was expected"]  # only REVOKED (2)
    assert client.get(f"{BASE}/{consent_id}", headers=h()).headers["ETag"] == etag


@pytest.mark.parametrize("payload", [{"status": 7}, {"status": "2"}, {"name": 5}])
def test_patch_body_is_validated(client: FlaskClient, payload: dict[str, Any]) -> None:
    consent_id, etag = api1_create(client)
    response = client.patch(f"{BASE}/{consent_id}", json=payload, headers=h(**{"If-Match": etag}))
    assert response.status_code == 400


# -- DELETE ---------------------------------------------------------------------------------------
def test_delete_is_idempotent_and_hard(client: FlaskClient) -> None:
    consent_id, _ = api1_create(client)
    url = f"{BASE}/{consent_id}"
    assert client.delete(url, headers=h()).status_code == 204
    assert client.delete(url, headers=h()).status_code == 204
    assert client.get(url, headers=h()).status_code == 404
    assert json_of(client.get(BASE, headers=h()))["meta"]["totalCount"] == 0
    assert client.delete(f"{BASE}/{uuid.uuid4()}", headers=h()).status_code == 404


def test_a_deleted_consent_is_remembered_a_day_on_the_tenants_clock(client: FlaskClient) -> None:
    consent_id, _ = api1_create(client)
    url = f"{BASE}/{consent_id}"
    assert client.delete(url, headers=h()).status_code == 204
    advance(client, "PT23H", tenant="tenant-a")
    assert client.delete(url, headers=h()).status_code == 204
    advance(client, "PT2H", tenant="tenant-a")
    response = client.delete(url, headers=h())
    assert response.status_code == 404
    assert json_of(response)["title"] == "Not Found"


def test_deleted_consents_are_remembered_per_api_key_up_to_a_bound(
    client: FlaskClient, sim: Simulator
) -> None:
    from mockserver.providers.api1.handlers import TOMBSTONES_PER_KEY

    deleted = []
    for _ in range(TOMBSTONES_PER_KEY + 1):
        consent_id, _ = api1_create(client)
        assert client.delete(f"{BASE}/{consent_id}", headers=h()).status_code == 204
        deleted.append(consent_id)
    # The oldest was forgotten (its value deleted from the store, not only unlisted) ...
    assert client.delete(f"{BASE}/{deleted[0]}", headers=h()).status_code == 404
    assert sim.store.get_value("api1:deleted", f"tenant-a|{deleted[0]}", sim.clock.now()) is None
    # ... the others are still remembered, and another key's deletions count on their own.
    assert client.delete(f"{BASE}/{deleted[1]}", headers=h()).status_code == 204
    assert client.delete(f"{BASE}/{deleted[-1]}", headers=h()).status_code == 204
    other, _ = api1_create(client, key="tenant-b")
    assert client.delete(f"{BASE}/{other}", headers=h("tenant-b")).status_code == 204
    assert client.delete(f"{BASE}/{deleted[2]}", headers=h()).status_code == 204


# -- list -----------------------------------------------------------------------------------------
@pytest.fixture
def listed(client: FlaskClient) -> dict[str, dict[str, Any]]:
    made = {
        "created": admin_consent(client, name="Alpha Created", createdOn="2026-01-01T10:00:00Z"),
        "accepted": admin_consent(
            client,
            name="Beta Accepted",
            status="ACCEPTED",
            source="fortnox",
            createdOn="2026-01-02T10:00:00Z",
            updatedOn="2026-01-03T08:00:00Z",
        ),
        "revoked": admin_consent(
            client,
            name="Gamma Revoked",
            status=2,
            source="xero",
            createdOn="2026-01-03T10:00:00Z",
            updatedOn="2026-01-04T08:00:00Z",
        ),
        "prod": admin_consent(
            client,
            name="Delta Live",
            status="ACCEPTED",
            source="testone",
            createdOn="2026-01-04T10:00:00Z",
            isTest=False,
        ),
    }
    admin_consent(client, tenant="tenant-b", name="Other tenant")
    return made


def names(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"{BASE}?{query}", headers=h())
    assert response.status_code == 200, response.json
    return [c["name"] for c in json_of(response)["data"]]


def test_list_filters(client: FlaskClient, listed: dict[str, dict[str, Any]]) -> None:
    assert names(client, "") == ["Delta Live", "Gamma Revoked", "Beta Accepted", "Alpha Created"]
    assert names(client, "Status=ACCEPTED") == ["Delta Live", "Beta Accepted"]
    assert names(client, "Status=2") == ["Gamma Revoked"]
    assert names(client, "Source=FORTNOX") == ["Beta Accepted"]
    assert names(client, "Name=alpha") == ["Alpha Created"]
    assert names(client, "CreatedOn=2026-01-03") == ["Gamma Revoked"]
    assert names(client, "UpdatedOn=2026-01-03") == ["Beta Accepted"]
    assert names(client, "IsTest=false") == ["Delta Live"]
    assert len(names(client, "IsTest=true")) == 3
    settings = listed["accepted"]["systemSettingsId"]
    assert names(client, f"SystemSettingsId={settings}") == ["Beta Accepted"]
    assert names(client, "OrderBy=name") == [
        "Alpha Created",
        "Beta Accepted",
        "Delta Live",
        "Gamma Revoked",
    ]
    assert names(client, "OrderBy=createdOn asc&Status=1") == ["Beta Accepted", "Delta Live"]


def test_list_orders_by_status_with_created_ones_first(
    client: FlaskClient, listed: dict[str, dict[str, Any]]
) -> None:
    # Found by the contract suite: status 0 (CREATED) once sorted as "" next to integers → 500.
    assert names(client, "OrderBy=status")[0] == "Alpha Created"
    assert names(client, "OrderBy=status desc")[0] == "Gamma Revoked"


@pytest.mark.parametrize("status", ["ACCEPTED", "Accepted", "accepted", "aCcEpTeD", "1"])
def test_status_filter_takes_the_name_in_any_case_or_the_number(
    client: FlaskClient, listed: dict[str, dict[str, Any]], status: str
) -> None:
    # FACTS-2 §4.2: "use the status name or value in filters" (documented), ASP.NET binding.
    assert names(client, f"Status={status}") == ["Delta Live", "Beta Accepted"]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("NAME DESC", ["Gamma Revoked", "Delta Live", "Beta Accepted", "Alpha Created"]),
        ("Name", ["Alpha Created", "Beta Accepted", "Delta Live", "Gamma Revoked"]),
        ("createdon ASC", ["Alpha Created", "Beta Accepted", "Gamma Revoked", "Delta Live"]),
        ("CreatedOn", ["Alpha Created", "Beta Accepted", "Gamma Revoked", "Delta Live"]),
        # A null updatedOn (never updated) first ascending, last descending, as SQL Server.
        ("updatedOn", ["Alpha Created", "Beta Accepted", "Gamma Revoked", "Delta Live"]),
        ("UPDATEDON desc", ["Delta Live", "Gamma Revoked", "Beta Accepted", "Alpha Created"]),
        # By the number: CREATED 0, ACCEPTED 1 (ties in creation order), REVOKED 2.
        ("Status Asc", ["Alpha Created", "Beta Accepted", "Delta Live", "Gamma Revoked"]),
    ],
)
def test_order_by_any_letter_case(
    client: FlaskClient, listed: dict[str, dict[str, Any]], order: str, expected: list[str]
) -> None:
    assert names(client, f"OrderBy={order}") == expected


def test_an_in_memory_order_pages_like_the_store_order(
    client: FlaskClient, listed: dict[str, dict[str, Any]]
) -> None:
    second = json_of(client.get(f"{BASE}?OrderBy=name desc&Count=3&CurrentPage=2", headers=h()))
    assert [c["name"] for c in second["data"]] == ["Alpha Created"]
    assert second["meta"]["totalCount"] == 4
    filtered = names(client, "OrderBy=name desc&Status=accepted&Count=1&CurrentPage=2")
    assert filtered == ["Beta Accepted"]


@pytest.mark.parametrize(
    "order", ["colour", "name  asc", "name ascending", "createdOn,name", "-createdOn", "name desc "]
)
def test_an_unknown_order_is_a_400_that_lists_what_is_accepted(
    client: FlaskClient, order: str
) -> None:
    response = client.get(BASE, query_string={"OrderBy": order}, headers=h())
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    problem = json_of(response)
    accepted = "OrderBy must be createdOn, updatedOn, name or status"
    assert problem["errors"]["OrderBy"][0].startswith(accepted)
    assert "' asc' or ' desc'" in problem["detail"] and "^(" not in problem["detail"]


@pytest.mark.parametrize("status", ["DELETED", "4", "01", "-1", "accepted ", ""])
def test_an_unknown_status_is_a_400_that_lists_what_is_accepted(
    client: FlaskClient, status: str
) -> None:
    response = client.get(BASE, query_string={"Status": status}, headers=h())
    assert response.status_code == 400
    message = json_of(response)["errors"]["Status"][0]
    assert "CREATED (0), ACCEPTED (1), REVOKED (2), INACTIVE (3)" in message


def test_list_pages(client: FlaskClient, listed: dict[str, dict[str, Any]]) -> None:
    page = json_of(client.get(f"{BASE}?Count=3&CurrentPage=2&OrderBy=name", headers=h()))
    assert [c["name"] for c in page["data"]] == ["Gamma Revoked"]
    assert page["meta"] == {"currentPage": 2, "pageSize": 3, "totalCount": 4, "totalPages": 2}
    past = json_of(client.get(f"{BASE}?Count=3&CurrentPage=9", headers=h()))
    assert past["data"] == [] and past["meta"]["totalCount"] == 4
    default = json_of(client.get(BASE, headers=h()))["meta"]
    assert default["pageSize"] == 10 and default["currentPage"] == 1


@pytest.mark.parametrize(
    "query",
    [
        "Count=0",
        "Count=101",
        "Count=ten",
        "CurrentPage=0",
        "CurrentPage=2147483648",
        "CreatedOn=2026-1-1",
        "CreatedOn=2026-02-30",
        "UpdatedOn=yesterday",
        "Status=DELETED",
        "Status=4",
        "IsTest=maybe",
        "SystemSettingsId=123",
        "OrderBy=colour",
    ],
)
def test_list_refuses_out_of_range_queries(client: FlaskClient, query: str) -> None:
    response = client.get(f"{BASE}?{query}", headers=h())
    assert response.status_code == 400
    assert json_of(response)["errors"]


# -- one-time codes -------------------------------------------------------------------------------
def test_one_time_code_is_single_use(client: FlaskClient, sim: Simulator) -> None:
    consent_id, _ = api1_create(client)
    response = client.post(f"{BASE}/{consent_id}/otc", headers=h())
    assert response.status_code == 201
    code = json_of(response)["code"]
    assert code and "Location" not in response.headers
    ctx = admin_context(sim, "api1", "tenant-a")
    # What the onboarding page does with the code: take it once, for this consent only.
    assert ONE_TIME_CODES.take(ctx, code, consentId=str(uuid.uuid4())) is None
    assert ONE_TIME_CODES.take(ctx, code, consentId=consent_id) is not None
    assert ONE_TIME_CODES.take(ctx, code, consentId=consent_id) is None


def test_one_time_code_lasts_one_hour(client: FlaskClient, sim: Simulator) -> None:
    consent_id, _ = api1_create(client)
    code = json_of(client.post(f"{BASE}/{consent_id}/otc", headers=h()))["code"]
    advance(client, "PT59M")
    still = admin_context(sim, "api1", "tenant-a")
    assert still.store.get_value("api1:otc", code, still.now) is not None
    advance(client, "PT1M")
    expired = admin_context(sim, "api1", "tenant-a")
    assert ONE_TIME_CODES.take(expired, code, consentId=consent_id) is None


def test_one_time_code_only_for_created_consents(client: FlaskClient) -> None:
    accepted = admin_consent(client, status="ACCEPTED")
    response = client.post(f"{BASE}/{accepted['id']}/otc", headers=h())
    assert response.status_code == 409 and "CREATED" in json_of(response)["detail"]
    assert client.post(f"{BASE}/{uuid.uuid4()}/otc", headers=h()).status_code == 404


# -- the lifecycle by the clock -------------------------------------------------------------------
def test_accepted_becomes_inactive_after_30_unused_days_then_purged(client: FlaskClient) -> None:
    consent = admin_consent(client, status="ACCEPTED")
    url = f"{BASE}/{consent['id']}"
    advance(client, "P29DT23H")
    assert json_of(client.get(url, headers=h()))["status"] == 1
    advance(client, "PT1H")
    inactive = json_of(client.get(url, headers=h()))
    assert inactive["status"] == 3
    advance(client, "P179D")
    assert client.get(url, headers=h()).status_code == 200
    advance(client, "P1D")
    assert client.get(url, headers=h()).status_code == 404


def test_created_is_purged_after_30_days(client: FlaskClient) -> None:
    consent_id, _ = api1_create(client)
    advance(client, "P30D")
    assert client.get(f"{BASE}/{consent_id}", headers=h()).status_code == 404
    assert json_of(client.get(BASE, headers=h()))["meta"]["totalCount"] == 0


def test_revoked_is_purged_after_180_days(client: FlaskClient) -> None:
    consent = admin_consent(client, status="REVOKED")
    advance(client, "P179D")
    assert json_of(client.get(f"{BASE}/{consent['id']}", headers=h()))["status"] == 2
    advance(client, "P1D")
    assert client.get(f"{BASE}/{consent['id']}", headers=h()).status_code == 404


def test_the_clock_can_move_for_one_tenant(client: FlaskClient) -> None:
    mine = admin_consent(client, status="ACCEPTED")
    theirs = admin_consent(client, tenant="tenant-b", status="ACCEPTED")
    advance(client, "P31D", tenant="tenant-a")
    assert json_of(client.get(f"{BASE}/{mine['id']}", headers=h()))["status"] == 3
    assert json_of(client.get(f"{BASE}/{theirs['id']}", headers=h("tenant-b")))["status"] == 1


# -- the onboarding deep link ----------------------------------------------------------------------
def onboarding_code(client: FlaskClient) -> tuple[str, str]:
    consent_id, _ = api1_create(client)
    code = json_of(client.post(f"{BASE}/{consent_id}/otc", headers=h()))["code"]
    return consent_id, str(code)


def test_a_deep_link_preselects_its_accounting_system(client: FlaskClient) -> None:
    consent_id, code = onboarding_code(client)
    page = client.get(f"/__sandbox/api1/consent/{consent_id}/Fortnox/", query_string={"otc": code})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "value='fortnox' checked" in html and "value='testone' checked" not in html
    journey = html.split("name='journey' value='")[1].split("'")[0]
    assert "action='../decision'" in html  # the form posts to the consent's own decision
    decided = client.post(
        f"/__sandbox/api1/consent/{consent_id}/decision",
        data={"journey": journey, "decision": "approve", "system": "fortnox"},
    )
    assert decided.status_code == 200
    got = json_of(client.get(f"{BASE}/{consent_id}", headers=h()))
    assert got["status"] == 1 and got["source"] == "fortnox"


def test_without_a_deep_link_testone_is_preselected(client: FlaskClient) -> None:
    consent_id, code = onboarding_code(client)
    page = client.get(f"/__sandbox/api1/consent/{consent_id}/", query_string={"otc": code})
    assert "value='testone' checked" in page.get_data(as_text=True)


def test_a_deep_link_to_an_unknown_system_is_the_page_error_and_keeps_the_code(
    client: FlaskClient,
) -> None:
    consent_id, code = onboarding_code(client)
    page = client.get(f"/__sandbox/api1/consent/{consent_id}/sage/", query_string={"otc": code})
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and page.content_type.startswith("text/html")
    assert "Unknown accounting system" in html and "fortnox" in html
    # The code was not spent on a link that could not be shown.
    again = client.get(f"/__sandbox/api1/consent/{consent_id}/xero/", query_string={"otc": code})
    assert again.status_code == 200 and "value='xero' checked" in again.get_data(as_text=True)
