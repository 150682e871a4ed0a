"""Fixture files load for every provider, and the Faker factories are reproducible and valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures import make_consent, make_consents, providers
from mockserver import create_app
from mockserver.providers import KNOWN

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.mark.parametrize("provider", sorted(KNOWN))
def test_every_provider_has_a_fixture_file_that_loads(provider: str) -> None:
    assert (FIXTURES / f"{provider}.yaml").exists()
    app = create_app([provider], strict=True, fixtures=FIXTURES)
    sim = app.extensions["mockserver"]
    tenant = sim.runtimes[provider].definition.default_tenant
    records = sim.store.list(provider, tenant)
    statuses = {sim.runtimes[provider].definition.status_of(r.data) for r in records}
    assert len(statuses) >= 3, f"{provider}'s default tenant should show several states"


@pytest.mark.parametrize("provider", sorted(KNOWN))
def test_every_provider_has_a_factory(provider: str) -> None:
    assert provider in providers()


@pytest.mark.parametrize("provider", providers())
def test_factories_are_reproducible(provider: str) -> None:
    assert make_consents(provider, 5) == make_consents(provider, 5)
    assert make_consents(provider, 5, seed=1) != make_consents(provider, 5, seed=2)
    assert make_consent(provider, name_marker="x")["name_marker"] == "x"


@pytest.mark.parametrize("provider", providers())
def test_factory_output_is_accepted_by_the_admin_api(provider: str) -> None:
    app = create_app([provider], strict=True)
    client = app.test_client()
    tenant = app.extensions["mockserver"].runtimes[provider].definition.default_tenant
    for fields in make_consents(provider, 10, seed=7):
        response = client.post(f"/__admin/{provider}/consents", json={"tenant": tenant, **fields})
        assert response.status_code == 201, response.json


def test_unknown_provider_factory() -> None:
    with pytest.raises(ValueError, match="no factory for 'nobody'"):
        make_consent("nobody")
