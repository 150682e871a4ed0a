"""Load fixture files (`fixtures/<provider>.yaml`) into the store, with precise errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .credentials import describe
from .lifecycle import admin_context, create_consent
from .runtime import Simulation
from .spec import read_yaml

__all__ = ["FixtureError", "seed_directory", "seed_document", "seed_file"]


class FixtureError(ValueError):
    """A fixture that cannot be loaded: the file, the path inside it, and the reason."""


def seed_directory(sim: Simulation, folder: Path) -> int:
    """Seed every served provider that has a `<provider>.yaml` in the folder."""
    if not folder.is_dir():
        raise FixtureError(
            f"{folder}: fixture folder does not exist (use --fixtures none to start empty)"
        )
    created = 0
    for name in sim.runtimes:
        path = folder / f"{name}.yaml"
        if path.exists():
            created += seed_file(sim, path)
    return created


def seed_file(sim: Simulation, path: str | Path) -> int:
    path = Path(path)
    try:
        document = read_yaml(path)  # libyaml, and cached: see spec.read_yaml
    except OSError as exc:
        raise FixtureError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise FixtureError(f"{path}: not valid YAML: {exc}") from exc
    return seed_document(sim, document, str(path))


def seed_document(sim: Simulation, document: Any, label: str) -> int:
    """Create every consent a fixture document lists; all or nothing per document."""
    if not isinstance(document, dict):
        raise FixtureError(f"{label}: the document must be a mapping with 'provider' and 'tenants'")
    provider = document.get("provider")
    if not isinstance(provider, str) or provider not in sim.runtimes:
        raise FixtureError(
            f"{label}: provider: {provider!r} is not served (served: {', '.join(sim.runtimes)})"
        )
    tenants = document.get("tenants")
    if not isinstance(tenants, list) or not tenants:
        raise FixtureError(f"{label}: tenants: must be a non-empty list")
    planned: list[tuple[str, dict[str, Any]]] = []
    for t_index, entry in enumerate(tenants):
        where = f"tenants[{t_index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("tenant"), str):
            raise FixtureError(f"{label}: {where}.tenant: must be a string")
        credentials = entry.get("credentials")
        if credentials is not None:
            seeder = sim.runtimes[str(provider)].definition.seed_tenant
            if not isinstance(credentials, dict) or seeder is None:
                raise FixtureError(
                    f"{label}: {where}.credentials: must be a mapping, and only for "
                    "providers that register credentials"
                )
            try:
                ctx = admin_context(sim, str(provider), entry["tenant"])
                seeder(ctx, credentials)
                describe(ctx, entry["tenant"], credentials)  # what GET .../credentials lists
            except ValueError as exc:
                raise FixtureError(f"{label}: {where}.credentials: {exc}") from exc
        consents = entry.get("consents", [])
        if not isinstance(consents, list):
            raise FixtureError(f"{label}: {where}.consents: must be a list")
        for c_index, consent in enumerate(consents):
            if not isinstance(consent, dict):
                raise FixtureError(f"{label}: {where}.consents[{c_index}]: must be a mapping")
            planned.append((f"{where}.consents[{c_index}]", {**consent, "tenant": entry["tenant"]}))
    made: list[tuple[str, str]] = []
    try:
        for where, fields in planned:
            try:
                record, _ = create_consent(sim, str(provider), fields)
            except ValueError as exc:
                raise FixtureError(f"{label}: {where}: {exc}") from exc
            made.append((record.tenant, record.id))
    except FixtureError:
        for tenant, record_id in made:
            sim.store.delete(str(provider), tenant, record_id)
        raise
    return len(made)
