"""Lists are served by the store's index: the deadlines must be exact, and a list after time
travel must show what settling every record would show."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from mockserver.app import create_app, default_fixture_dir
from mockserver.behaviour import ProviderDef, sort_stamp
from mockserver.lifecycle import admin_context
from mockserver.providers import KNOWN

FIXTURES = default_fixture_dir()
FAR = datetime(9000, 1, 1, tzinfo=UTC)
SPANS = [timedelta(0), timedelta(days=1), timedelta(days=31), timedelta(days=95)]
SPANS += [timedelta(days=200), timedelta(days=400), timedelta(days=3000)]


def _tenants(provider: str, definition: ProviderDef) -> list[str]:
    document = yaml.safe_load((FIXTURES / f"{provider}.yaml").read_text(encoding="utf-8"))
    return list(
        dict.fromkeys([definition.default_tenant, *(t["tenant"] for t in document["tenants"])])
    )


def _settled(definition: ProviderDef, data: dict[str, Any], now: datetime) -> Any:
    """What the clock rules make of a record by `now`, applied until they change nothing."""
    current: Any = data
    for _ in range(10):
        outcome = definition.lifecycle(current, now)
        if outcome is current or outcome is None:
            return outcome
        current = outcome
    raise AssertionError("the lifecycle never settles")


@pytest.mark.parametrize("provider", sorted(KNOWN))
def test_a_deadline_is_the_first_instant_the_lifecycle_changes_a_record(provider: str) -> None:
    sim = create_app([provider], fixtures=FIXTURES).extensions["mockserver"]
    definition = sim.runtimes[provider].definition
    records = [r for t in _tenants(provider, definition) for r in sim.store.list(provider, t)]
    assert records
    with_deadline = 0
    for record in records:
        due = definition.deadline(record.data)
        if due is None:
            assert definition.lifecycle(record.data, FAR) is record.data, record.id
            continue
        with_deadline += 1
        assert definition.lifecycle(record.data, due - timedelta(microseconds=1)) is record.data
        assert definition.lifecycle(record.data, due) is not record.data, record.id
    assert with_deadline, f"{provider}'s fixtures should hold a consent that will change"


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("provider", sorted(KNOWN))
def test_lists_after_time_travel_show_what_settling_every_record_shows(
    provider: str, kind: str, tmp_path: Path
) -> None:
    store = "memory" if kind == "memory" else f"sqlite:{tmp_path / 's.sqlite'}"
    sim = create_app([provider], fixtures=FIXTURES, store=store).extensions["mockserver"]
    definition = sim.runtimes[provider].definition
    tenants = _tenants(provider, definition)
    snapshot = {t: {r.id: r.data for r in sim.store.list(provider, t)} for t in tenants}
    start = sim.clock.now()
    changed = 0
    for span in SPANS:
        now = start + span
        for tenant in tenants:
            expected: dict[str, str] = {}
            for record_id, data in snapshot[tenant].items():
                outcome = _settled(definition, data, now)
                if outcome is not None:
                    expected[record_id] = definition.status_of(outcome)
            changed += sum(
                1
                for record_id, data in snapshot[tenant].items()
                if expected.get(record_id) != definition.status_of(data)
            )
            ctx = dataclasses.replace(admin_context(sim, provider, tenant), now=now)
            records, total = ctx.listing()
            assert {r.id: definition.status_of(r.data) for r in records} == expected
            assert total == len(expected)
            keys = [definition.order_key(r.data) for r in records]
            assert keys == sorted(keys)
            for status in set(expected.values()):
                page, count = ctx.listing(status=status, limit=1)
                assert count == sum(1 for s in expected.values() if s == status)
                assert [definition.status_of(r.data) for r in page] == [status]
    assert changed, "time travel should have changed some consent"


def test_list_order_ties_keep_the_creation_order() -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    assert sort_stamp(early) < sort_stamp(early + timedelta(microseconds=1))
    assert sort_stamp(early, newest_first=True) > sort_stamp(
        early + timedelta(microseconds=1), newest_first=True
    )
    assert sort_stamp(datetime(1, 1, 1)) == "0" * 18
    assert len(sort_stamp(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))) == 18
