"""Every spec in specs/ is valid OpenAPI 3.1 and follows the conventions the engine relies on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from mockserver.spec import load_spec

SPECS = sorted((Path(__file__).parents[1] / "specs").glob("*.yaml"))


def test_there_are_specs() -> None:
    assert {p.stem for p in SPECS} >= {"api1"}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_is_valid_openapi_31(path: Path) -> None:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    assert document["openapi"].startswith("3.1")
    validate(document)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_loads_into_the_engine(path: Path) -> None:
    spec = load_spec(path.stem, path)
    assert spec.operations
    for op in spec.operations.values():
        assert op.summary, f"{op.operation_id} has no summary"
        created = op.responses.get("201")
        if created is not None and "location" in created.headers:
            assert created.headers["location"][0], f"{op.operation_id}: Location must be required"
