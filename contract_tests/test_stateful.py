"""Stateful: journeys along the specs' OpenAPI links (create → read → update → delete ...).

Each step runs every enabled check (use_after_free, ensure_resource_availability and ours
included); a live run without MOCKSERVER_LIVE_WRITES=1 walks the read-only operations only.
"""

from __future__ import annotations

import pytest

from .profiles import PROFILES
from .suite import Target, run_stateful


@pytest.mark.parametrize("provider", list(PROFILES))
def test_stateful(provider: str, target: Target) -> None:
    run_stateful(provider, target)
