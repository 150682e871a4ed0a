"""Stateless: every operation of every spec, positive and negative data, all checks.

Phases (from schemathesis.toml): examples, coverage (boundaries, missing required headers,
unexpected methods, negative values) and fuzzing; checks: Schemathesis's standard ones plus
ours (`checks.py`), with per-operation exceptions in schemathesis.toml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import schemathesis

from .profiles import PROFILES
from .suite import call_and_validate, current, load_schema

if TYPE_CHECKING:
    # Schemathesis's alias of its generic Case for an OpenAPI operation (for type checkers only)
    from schemathesis.specs.openapi.schemas import OpenApiCase as Case

SCHEMAS = {name: load_schema(name, current()) for name in PROFILES}


@schemathesis.pytest.parametrize(**SCHEMAS)
def test_stateless(case: Case) -> None:
    call_and_validate(case)
