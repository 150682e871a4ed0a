"""The simulated clock: the only place in the simulator that reads the wall time."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

__all__ = [
    "Clock",
    "SimClock",
    "SystemClock",
    "format_instant",
    "parse_duration",
    "parse_instant",
]

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration limited to weeks, days, hours, minutes and seconds.

    Years and months are refused: their length depends on the calendar, which makes
    "advance by one month" ambiguous for a clock that tests must be able to reason about.
    """
    match = _DURATION.match(text.strip().upper())
    if match is None or text.strip().upper() in {"P", "PT", "-P", "-PT"}:
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration such as 'P31D', 'PT1H' or 'P1DT12H' "
            "(years and months are not accepted: use days)"
        )
    parts = {k: float(v) for k, v in match.groupdict().items() if v and k != "sign"}
    try:
        delta = timedelta(
            weeks=parts.get("weeks", 0),
            days=parts.get("days", 0),
            hours=parts.get("hours", 0),
            minutes=parts.get("minutes", 0),
            seconds=parts.get("seconds", 0),
        )
    except OverflowError as exc:  # beyond timedelta's 999,999,999 days (or a float's range)
        raise ValueError(f"{text!r} is longer than the clock can move") from exc
    return -delta if match.group("sign") else delta


def parse_instant(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; a naive one is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def format_instant(value: datetime) -> str:
    """Render an instant as RFC 3339 in UTC with a 'Z', to the second."""
    v = value.astimezone(UTC)
    if v.year < 1000:  # strftime's %Y does not pad these
        return v.strftime("%Y-%m-%dT%H:%M:%SZ")
    # An f-string: a third cheaper than strftime, and the journal stamps every request.
    return f"{v.year}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"


class Clock(Protocol):
    """What the simulator asks of a clock: the current instant, for everyone or one tenant."""

    def now(self, tenant: str | None = None) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self, tenant: str | None = None) -> datetime:
        return datetime.now(UTC)


class ClockBacking(Protocol):
    """Where a SimClock keeps its settings: a store, so every worker process shares one clock."""

    def read_doc(self, name: str) -> Any: ...

    def write_doc(self, name: str, value: Any) -> None: ...


class _LocalBacking:
    def __init__(self) -> None:
        self.docs: dict[str, Any] = {}

    def read_doc(self, name: str) -> Any:
        return self.docs.get(name)

    def write_doc(self, name: str, value: Any) -> None:
        self.docs[name] = value


_DOC = "clock"
_EMPTY: dict[str, Any] = {"offset": 0.0, "frozen": None, "tenants": {}}
# The simulated clock's range: far from datetime's own limits (years 1 and 9999), so that no
# lifecycle rule or offset added to a simulated instant can overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_RANGE = f"the simulated clock stays from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d}"


class ClockRangeError(ValueError):
    """A clock change that would leave [EARLIEST, LATEST); the clock is left as it was."""


@contextmanager
def _in_range() -> Iterator[None]:
    try:
        yield
    except OverflowError as exc:  # an instant plus a delta beyond year 9999
        raise ClockRangeError(f"{_RANGE}; this change would take it past them") from exc


@dataclass(slots=True)
class SimClock:
    """A clock that follows the wall time from a settable offset, globally or per tenant.

    A frozen clock stands still until it is set or advanced. A tenant's own offset is added
    to the global one, so parallel tests that each own a tenant can move time independently.
    Its settings live in `backing` (the simulator's store), never in this object.
    """

    source: Clock = field(default_factory=SystemClock)
    backing: ClockBacking = field(default_factory=_LocalBacking)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _pin: threading.local = field(default_factory=threading.local, repr=False)

    def _state(self) -> dict[str, Any]:
        pinned: dict[str, Any] | None = getattr(self._pin, "state", None)
        if pinned is not None:
            return pinned
        state: dict[str, Any] | None = self.backing.read_doc(_DOC)
        return state if state is not None else _EMPTY

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Read the settings from the store once for everything inside (one request) on this
        thread: `now()` still follows the wall time. A change made inside ends the pin."""
        if getattr(self._pin, "state", None) is not None:  # already pinned: nested use
            yield
            return
        self._pin.state = self._state()
        try:
            yield
        finally:
            self._pin.state = None

    def _base(self, state: dict[str, Any]) -> datetime:
        if state["frozen"] is not None:
            return parse_instant(state["frozen"])
        offset = state["offset"]
        return self.source.now() + timedelta(seconds=offset) if offset else self.source.now()

    def now(self, tenant: str | None = None) -> datetime:
        state = self._state()
        base = self._base(state)
        if tenant is not None and tenant in state["tenants"]:
            return base + timedelta(seconds=state["tenants"][tenant])
        return base

    def _change(self, **changes: Any) -> None:
        state = {**self._state(), **changes}
        self._check_range(state)
        self.backing.write_doc(_DOC, state)
        self._pin.state = None

    def _check_range(self, state: dict[str, Any]) -> None:
        """Refuse settings that put the clock, or any tenant's, outside [EARLIEST, LATEST):
        stored, they would make every later request's date arithmetic overflow (a 500)."""
        with _in_range():
            base = self._base(state)
            instants = [base, *(base + timedelta(seconds=s) for s in state["tenants"].values())]
        for instant in instants:
            if not EARLIEST <= instant < LATEST:
                raise ClockRangeError(f"{_RANGE}; this change would take it to {instant:%Y-%m-%d}")

    def advance(self, delta: timedelta, tenant: str | None = None) -> datetime:
        with self._lock, _in_range():
            state = self._state()
            if tenant is not None:
                tenants = dict(state["tenants"])
                tenants[tenant] = tenants.get(tenant, 0.0) + delta.total_seconds()
                self._change(tenants=tenants)
            elif state["frozen"] is not None:
                self._change(frozen=(parse_instant(state["frozen"]) + delta).isoformat())
            else:
                self._change(offset=state["offset"] + delta.total_seconds())
        return self.now(tenant)

    def set(
        self, instant: datetime, *, freeze: bool = False, tenant: str | None = None
    ) -> datetime:
        with self._lock, _in_range():
            state = self._state()
            if tenant is not None:
                tenants = dict(state["tenants"])
                tenants[tenant] = (instant - self._base(state)).total_seconds()
                self._change(tenants=tenants)
            elif freeze:
                self._change(frozen=instant.isoformat())
            else:
                offset = (instant - self.source.now()).total_seconds()
                self._change(frozen=None, offset=offset)
        return self.now(tenant)

    def reset(self) -> None:
        with self._lock:
            self.backing.write_doc(_DOC, dict(_EMPTY))
            self._pin.state = None

    def describe(self, tenant: str | None = None) -> dict[str, object]:
        """The clock's state as the control plane shows it."""
        state = self._state()
        return {
            "now": format_instant(self.now(tenant)),
            "frozen": state["frozen"] is not None,
            "offsetSeconds": state["offset"],
            "tenant": tenant,
            "tenantOffsetSeconds": state["tenants"].get(tenant, 0.0) if tenant else None,
            "tenants": sorted(state["tenants"]),
        }
