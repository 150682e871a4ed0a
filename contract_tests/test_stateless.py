"""Stateless: every operation of every spec, positive and negative data, all checks.

Phases (from schemathesis.toml): examples, coverage (boundaries, missing required headers,
unexpected methods, negative values) and fuzzing; checks: Schemathesis's standard ones plus
ours (`checks.py`), with per-operation exceptions in schemathesis.toml.
"""

from __future__ import annotations

import schemathesis
from schemathesis import Case

from .profiles import PROFILES
from .suite import call_and_validate, current, load_schema

SCHEMAS = {name: load_schema(name, current()) for name in PROFILES}


@schemathesis.pytest.parametrize(**SCHEMAS)
def test_stateless(case: Case) -> None:
    call_and_validate(case)
