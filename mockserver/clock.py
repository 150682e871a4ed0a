"""The simulated clock: the only place in the simulator that reads the wall time."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

__all__ = [
    "EARLIEST",
    "LATEST",
    "Clock",
    "ClockRangeError",
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
    except OverflowError:
        raise ClockRangeError(f"{text!r} is longer than any clock can move") from None
    return -delta if match.group("sign") else delta


@functools.lru_cache(maxsize=1024)
def parse_instant(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; a naive one is taken as UTC. Remembered: a request parses
    the same few stamps of a consent (its list order, its deadlines) and they repeat across
    requests within a second; a datetime is immutable."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def format_instant(value: datetime) -> str:
    """Render an instant as RFC 3339 in UTC with a 'Z', to the second."""
    v = value.astimezone(UTC)
    if v.year < 1000:  # strftime's %Y does not pad these
        return v.strftime("%Y-%m-%dT%H:%M:%SZ")
    # An f-string: a third cheaper than strftime, and the journal stamps every request.
    return f"{v.year}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"


# The range a simulated instant may take. Providers add lifetimes of up to a few years to
# "now" (expiry, purge, retention) and format the result as an RFC 3339 date with four digits,
# so the clock stays well inside what a `datetime` can hold: a move beyond it is refused
# before it is saved, instead of breaking every later request.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class ClockRangeError(ValueError):
    """A clock setting that would put the simulated time outside [EARLIEST, LATEST)."""


def _check_range(moment: datetime, who: str) -> None:
    if not EARLIEST <= moment < LATEST:
        raise ClockRangeError(
            f"{who} would read {moment.isoformat()}, outside the range the simulator serves "
            f"({format_instant(EARLIEST)} .. {format_instant(LATEST)})"
        )


def _reading(who: str, read: Callable[[], datetime]) -> datetime:
    try:
        moment = read()
    except (OverflowError, ValueError) as exc:
        raise ClockRangeError(f"{who} is beyond what a date can hold ({exc})") from None
    _check_range(moment, who)
    return moment


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


@contextmanager
def _out_of_range() -> Iterator[None]:
    """Arithmetic that leaves what a `datetime` holds is a refused move, not a crash."""
    try:
        yield
    except OverflowError:
        raise ClockRangeError(
            "that would move the clock beyond what a date can hold; nothing was changed"
        ) from None


_DOC = "clock"
_EMPTY: dict[str, Any] = {"offset": 0.0, "frozen": None, "tenants": {}}


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

    def pinned(self) -> _Pinned:
        """Read the settings from the store once for everything inside (one request) on this
        thread: `now()` still follows the wall time. A change made inside ends the pin."""
        return _Pinned(self)

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

    def earliest(self) -> datetime:
        """The earliest instant any of its clocks reads (the global one, each tenant's): what
        has expired by it has expired on every clock, so a store may collect it."""
        state = self._state()
        return self._base(state) + timedelta(seconds=min([0.0, *state["tenants"].values()]))

    def _change(self, **changes: Any) -> None:
        state = {**self._state(), **changes}
        try:
            self.check(state)
        except ClockRangeError as exc:
            raise ClockRangeError(f"refused: {exc}; nothing was changed") from None
        self.backing.write_doc(_DOC, state)
        self._pin.state = None

    def check(self, state: dict[str, Any] | None = None) -> None:
        """Raise ClockRangeError unless every clock of `state` (default: the saved settings),
        the global one and each tenant's, reads an instant inside [EARLIEST, LATEST)."""
        state = self._state() if state is None else state
        base = _reading("the clock", lambda: self._base(state))
        for tenant, offset in state["tenants"].items():
            who = f"tenant {tenant!r}'s clock"
            _reading(who, lambda: base + timedelta(seconds=offset))  # noqa: B023 - called here

    def advance(self, delta: timedelta, tenant: str | None = None) -> datetime:
        with self._lock, _out_of_range():
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
        with self._lock, _out_of_range():
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


class _Pinned:
    """`SimClock.pinned()`: a class rather than a generator-based context manager (one per
    request). A nested use leaves the outer pin as it is."""

    __slots__ = ("_clock", "_owner")

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._owner = False

    def __enter__(self) -> None:
        clock = self._clock
        if getattr(clock._pin, "state", None) is None:
            clock._pin.state = clock._state()
            self._owner = True

    def __exit__(self, *exc_info: object) -> None:
        if self._owner:
            self._clock._pin.state = None
