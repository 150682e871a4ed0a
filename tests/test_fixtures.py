"""Fixture files load for every provider, and the Faker factories are reproducible and valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver import create_app
from mockserver.factories import make_consent, make_consents, providers
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


def test_a_fixture_read_before_comes_from_the_spec_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fixtures are read like specs (libyaml, then a JSON copy): a second start parses none."""
    import yaml

    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    first = create_app(["api1"], fixtures=FIXTURES).extensions["mockserver"]
    expected = sorted(r.id for r in first.store.list("api1", "sandbox-api1-key"))

    def parsed_again(*args: object, **kwargs: object) -> object:
        raise AssertionError("parsed the YAML again")

    monkeypatch.setattr(yaml, "load", parsed_again)
    monkeypatch.setattr(yaml, "safe_load", parsed_again)
    again = create_app(["api1"], fixtures=FIXTURES).extensions["mockserver"]
    assert sorted(r.id for r in again.store.list("api1", "sandbox-api1-key")) == expected
    assert expected


def test_a_fixture_that_is_not_yaml_says_where(tmp_path: Path) -> None:
    from mockserver.seeding import FixtureError

    (tmp_path / "api1.yaml").write_text("provider: api1\ntenants: [\n  - tenant: t\n")
    with pytest.raises(FixtureError, match=r"(?s)api1\.yaml: not valid YAML: .*line 3"):
        create_app(["api1"], fixtures=tmp_path)


def test_specs_and_fixtures_come_from_the_package_else_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mockserver.app as app_module
    from mockserver.app import default_fixture_dir, default_spec_dir

    monkeypatch.delenv("MOCKSERVER_SPEC_DIR", raising=False)
    monkeypatch.setenv("MOCKSERVER_FIXTURE_DIR", "")  # empty: as if unset
    assert default_fixture_dir() == FIXTURES.resolve()  # this checkout (an editable install)
    installed, checkout = tmp_path / "site-packages" / "mockserver", tmp_path / "checkout"
    monkeypatch.setattr(app_module, "PACKAGE", installed)
    monkeypatch.setattr(app_module, "ROOT", checkout)
    assert default_spec_dir() == checkout / "specs"
    (installed / "_specs").mkdir(parents=True)
    (installed / "_fixtures").mkdir()
    assert default_spec_dir() == installed / "_specs"  # a wheel's package data comes first
    assert default_fixture_dir() == installed / "_fixtures"
    monkeypatch.setenv("MOCKSERVER_FIXTURE_DIR", str(tmp_path / "mine"))
    assert default_fixture_dir() == tmp_path / "mine"
