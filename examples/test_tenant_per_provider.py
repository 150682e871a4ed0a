"""`mockserver.tenant` with each provider's own credentials (docs/plugin.md shows these tests).

The tenant is a fresh string per test; each provider takes it where its real API takes the
caller's identity, and any secret beside it (the first one a tenant sends is registered).
"""

from __future__ import annotations

import uuid

import httpx

from mockserver.pytest_plugin import Sandbox

SECRET = "any-secret"  # any non-empty secret: a new tenant registers the first one it sends


def test_api1_the_tenant_is_the_api_key(mockserver: Sandbox) -> None:
    made = mockserver.admin.create_consent("api1", status="ACCEPTED", name="Acme AB")
    headers = {"x-api-key": mockserver.tenant, "x-correlation-id": str(uuid.uuid4())}
    with httpx.Client(base_url=mockserver.url("api1"), headers=headers) as client:
        listed = client.get("/api/v1/consents").json()["data"]
    assert [c["id"] for c in listed] == [made["id"]]


def test_finqware_the_tenant_is_the_client_id(mockserver: Sandbox) -> None:
    made = mockserver.admin.create_consent("finqware", status="ACTIVE")
    body = {
        "client_id": mockserver.tenant,
        "client_secret": SECRET,
        "credentials_id": made["credentials_id"],
        "access_token": made["access_token"],
    }
    with httpx.Client(base_url=mockserver.url("finqware")) as client:
        answer = client.post("/v1/consents/get", json=body).json()
    assert answer["result"]["status"] == "ACTIVE"


def test_yapily_the_tenant_is_the_application_id(mockserver: Sandbox) -> None:
    made = mockserver.admin.create_consent("yapily", status="AUTHORIZED")
    auth = (mockserver.tenant, SECRET)  # HTTP Basic: Application ID, Application Secret
    with httpx.Client(base_url=mockserver.url("yapily"), auth=auth) as client:
        consent = client.get(f"/consents/{made['id']}").json()["data"]
    assert consent["status"] == "AUTHORIZED"


def test_atto_the_tenant_is_the_client_id(mockserver: Sandbox) -> None:
    made = mockserver.admin.create_consent("atto", status="Active")
    form = {
        "grant_type": "client_credentials",
        "client_id": mockserver.tenant,
        "client_secret": SECRET,
        "scope": "api:consent",
    }
    with httpx.Client(base_url=mockserver.url("atto")) as client:
        token = client.post("/v1/oauth2/token", data=form).json()["accessToken"]
        consent = client.get(
            f"/consents/v1/{made['consentId']}", headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert consent["consentStatus"] == "Active"


def test_fliqa_the_tenant_is_the_api_key(mockserver: Sandbox) -> None:
    made = mockserver.admin.create_consent("fliqa", status="valid")
    keys = {"Api-Key": mockserver.tenant, "Api-Secret": SECRET}
    with httpx.Client(base_url=mockserver.url("fliqa")) as client:
        # environment and tenant slug: any, bound to this Api-Key by its first token request
        token = client.get("/service/auth/token/sandbox/my-team", headers=keys).json()
        consent = client.get(
            f"/service/consent/{made['consentId']}",
            headers={"Authorization": f"Bearer {token['accessToken']}"},
        ).json()
    assert consent["status"] == "valid"


def test_journal_faults_and_clock_for_this_test(mockserver: Sandbox) -> None:
    mockserver.contract = False  # the wrong path below breaks the contract on purpose
    admin = mockserver.admin
    made = admin.create_consent("api1", status="ACCEPTED", name="Acme AB")
    assert admin.consent("api1", made["id"])["allowedTransitions"] == ["REVOKED", "INACTIVE"]
    fault_id = admin.fault("api1", "getConsent", status=503, times=1)
    assert [f["id"] for f in admin.faults() if f["tenant"] == mockserver.tenant] == [fault_id]
    headers = {"x-api-key": mockserver.tenant, "x-correlation-id": str(uuid.uuid4())}
    with httpx.Client(base_url=mockserver.url("api1"), headers=headers) as client:
        assert client.get(f"/api/v1/consents/{made['id']}").status_code == 503
        assert client.get(f"/api/v1/consents/{made['id']}").status_code == 200
        assert client.get("/api/v1/consentz").status_code == 404
    assert [e["status"] for e in mockserver.requests(operation="getConsent")] == [503, 200]
    assert any(u["path"] == "/api1/api/v1/consentz" for u in admin.unmatched())
    before = admin.clock()["now"]
    admin.advance_clock("P1D")  # this tenant only
    assert admin.clock()["now"] > before
