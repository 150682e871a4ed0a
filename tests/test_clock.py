"""The clock: durations, instants, the settable simulated clock, per-tenant offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mockserver.clock import SimClock, SystemClock, format_instant, parse_duration, parse_instant

from conftest import T0, FixedSource


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P31D", timedelta(days=31)),
        ("PT1H", timedelta(hours=1)),
        ("P1DT12H30M", timedelta(days=1, hours=12, minutes=30)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("P2W", timedelta(weeks=2)),
        ("-PT10M", -timedelta(minutes=10)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "31D", "P1M", "P1Y", "soon", "P1H"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        parse_duration(text)


def test_instants_round_trip_in_utc() -> None:
    value = parse_instant("2026-01-05T11:30:00+02:00")
    assert format_instant(value) == "2026-01-05T09:30:00Z"
    assert parse_instant("2026-01-05T09:30:00").tzinfo is not None


def test_system_clock_is_utc() -> None:
    assert SystemClock().now().utcoffset() == timedelta(0)


def test_advance_set_freeze_and_reset() -> None:
    clock = SimClock(source=FixedSource(T0))
    assert clock.now() == T0
    clock.advance(timedelta(days=31))
    assert clock.now() == T0 + timedelta(days=31)
    target = datetime(2030, 1, 1, tzinfo=UTC)
    clock.set(target, freeze=True)
    assert clock.now() == target
    clock.advance(timedelta(hours=1))
    assert clock.now() == target + timedelta(hours=1)
    clock.reset()
    assert clock.now() == T0


def test_a_tenant_can_have_its_own_time() -> None:
    clock = SimClock(source=FixedSource(T0))
    clock.advance(timedelta(days=31), tenant="a")
    assert clock.now("a") == T0 + timedelta(days=31)
    assert clock.now("b") == T0
    assert clock.now() == T0
    clock.advance(timedelta(days=1))
    assert clock.now("a") == T0 + timedelta(days=32)
    assert clock.now("b") == T0 + timedelta(days=1)


def test_nothing_but_the_clock_reads_the_wall_time() -> None:
    from pathlib import Path

    package = Path(__file__).parents[1] / "mockserver"
    for path in package.rglob("*.py"):
        if path.name == "clock.py":
            continue
        text = path.read_text()
        for call in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
            assert call not in text, f"{path.relative_to(package)} calls {call}"
