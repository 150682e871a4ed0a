"""docs/fidelity.md names every operation each spec simulates, under its provider's heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mockserver.providers import KNOWN

ROOT = Path(__file__).resolve().parents[1]
FIDELITY = ROOT / "docs" / "fidelity.md"


def _sections() -> dict[str, str]:
    """The document's text per provider, by its `## <provider>` heading."""
    parts = re.split(r"^## ", FIDELITY.read_text(encoding="utf-8"), flags=re.M)[1:]
    return {part.split()[0]: part for part in parts}


@pytest.mark.parametrize("provider", sorted(KNOWN))
def test_every_simulated_operation_is_in_the_matrix(provider: str) -> None:
    spec = yaml.safe_load((ROOT / "specs" / f"{provider}.yaml").read_text(encoding="utf-8"))
    operations = {
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    section = _sections()[provider]
    missing = sorted(o for o in operations if not re.search(rf"\b{re.escape(o)}\b", section))
    assert not missing, f"docs/fidelity.md, {provider}: operations not in the matrix: {missing}"


def test_the_provider_pages_link_their_row() -> None:
    for provider in sorted(KNOWN):
        page = (ROOT / "docs" / "providers" / f"{provider}.md").read_text(encoding="utf-8")
        assert "(../fidelity.md#" in page, provider
