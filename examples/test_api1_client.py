"""Run with `pytest examples/ --mockserver-contract` (the plugin comes with consent-mockserver).

Every test gets a fresh tenant on a shared simulator (`mockserver.tenant` is its API key); with
the contract check on, a test fails when its client sent a request that breaks API.1's contract,
even if the client swallowed the error, as `list_consents` below does.
"""

from __future__ import annotations

import pytest
from api1_client import Api1Client

from mockserver.pytest_plugin import ContractBroken, Sandbox


def test_create_then_revoke(mockserver: Sandbox) -> None:
    with Api1Client(mockserver.url("api1"), mockserver.tenant) as client:
        consent_id = client.create_consent("Acme AB")
        client.revoke(consent_id)
        consent, _ = client.get_consent(consent_id)
    assert consent["status"] == 2


def test_accepted_consents_after_onboarding(mockserver: Sandbox) -> None:
    with Api1Client(mockserver.url("api1"), mockserver.tenant) as client:
        consent_id = client.create_consent("Acme AB")
        mockserver.admin.approve("api1", consent_id, source="fortnox")
        assert [c["id"] for c in client.list_consents("ACCEPTED")] == [consent_id]
        mockserver.admin.advance_clock("P31D")  # only this test's tenant sees time move
        assert client.list_consents("ACCEPTED") == []


@pytest.mark.xfail(raises=ContractBroken, strict=True, reason="the client sends a wrong status")
def test_a_wrong_enum_is_caught(mockserver: Sandbox) -> None:
    with Api1Client(mockserver.url("api1"), mockserver.tenant) as client:
        # API.1 has no ACTIVE status (ACCEPTED is): the 400 is swallowed, so it passes on its own
        assert client.list_consents("active") == []


@pytest.mark.xfail(raises=ContractBroken, strict=True, reason="no x-correlation-id header")
def test_a_missing_required_header_is_caught(mockserver: Sandbox) -> None:
    with Api1Client(mockserver.url("api1"), mockserver.tenant, send_correlation_id=False) as client:
        with pytest.raises(Exception):  # noqa: B017 - the client sees a 400; the plugin names why
            client.create_consent("Acme AB")
