"""kit.States' `move`: an expiry without its own `then` is the provider's move to that status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from mockserver import kit

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _move(data: kit.JsonDict, to: str, at: datetime) -> kit.JsonDict:
    data.update(status=to, movedAt=kit.format_instant(at), moves=data.get("moves", 0) + 1)
    return data


def _states(then: Callable[[kit.JsonDict, datetime], kit.JsonDict] | None = None) -> kit.States:
    rules = [
        kit.Expire("LIVE", kit.at_field("end"), "OLD"),
        kit.Expire("OLD", kit.at_field("end", after=timedelta(days=1)), "GONE", then=then),
    ]
    transitions = {"LIVE": ("OLD",), "OLD": ("GONE",), "GONE": ()}
    return kit.States(transitions, rules, move=_move)


def test_an_expiry_without_then_applies_the_move_on_a_copy() -> None:
    record = {"status": "LIVE", "end": kit.format_instant(T0)}
    settled = _states().lifecycle(record, T0)
    assert settled == {**record, "status": "OLD", "movedAt": kit.format_instant(T0), "moves": 1}
    assert record == {"status": "LIVE", "end": kit.format_instant(T0)}  # not the record itself
    later = _states().lifecycle(record, T0 + timedelta(days=2))
    assert later is not None and later["status"] == "GONE" and later["moves"] == 2


def test_an_expiry_s_own_then_wins_over_the_move() -> None:
    states = _states(then=lambda data, at: {"note": "own"})
    gone = states.lifecycle({"status": "OLD", "end": kit.format_instant(T0)}, T0 + timedelta(2))
    assert gone == {"status": "GONE", "end": kit.format_instant(T0), "note": "own"}


def test_without_a_move_only_the_status_changes() -> None:
    states = kit.States(
        {"LIVE": ("OLD",), "OLD": ()}, [kit.Expire("LIVE", kit.at_field("end"), "OLD")]
    )
    assert states.lifecycle({"status": "LIVE", "end": kit.format_instant(T0)}, T0) == {
        "status": "OLD",
        "end": kit.format_instant(T0),
    }
