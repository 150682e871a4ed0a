"""The simulated clock: the only place in the simulator that reads the wall time."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

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
    delta = timedelta(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )
    return -delta if match.group("sign") else delta


def parse_instant(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; a naive one is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def format_instant(value: datetime) -> str:
    """Render an instant as RFC 3339 in UTC with a 'Z', to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock(Protocol):
    """What the simulator asks of a clock: the current instant, for everyone or one tenant."""

    def now(self, tenant: str | None = None) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self, tenant: str | None = None) -> datetime:
        return datetime.now(UTC)


@dataclass(slots=True)
class SimClock:
    """A clock that follows the wall time from a settable offset, globally or per tenant.

    A frozen clock stands still until it is set or advanced. A tenant's own offset is added
    to the global one, so parallel tests that each own a tenant can move time independently.
    """

    source: Clock = field(default_factory=SystemClock)
    offset: timedelta = field(default_factory=timedelta)
    frozen_at: datetime | None = None
    tenant_offsets: dict[str, timedelta] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def now(self, tenant: str | None = None) -> datetime:
        base = self.frozen_at if self.frozen_at is not None else self.source.now() + self.offset
        if tenant is not None:
            extra = self.tenant_offsets.get(tenant)
            if extra is not None:
                return base + extra
        return base

    def advance(self, delta: timedelta, tenant: str | None = None) -> datetime:
        with self._lock:
            if tenant is not None:
                self.tenant_offsets[tenant] = self.tenant_offsets.get(tenant, timedelta()) + delta
            elif self.frozen_at is not None:
                self.frozen_at += delta
            else:
                self.offset += delta
        return self.now(tenant)

    def set(
        self, instant: datetime, *, freeze: bool = False, tenant: str | None = None
    ) -> datetime:
        with self._lock:
            if tenant is not None:
                self.tenant_offsets[tenant] = instant - self.now()
            elif freeze:
                self.frozen_at = instant
            else:
                self.frozen_at = None
                self.offset = instant - self.source.now()
        return self.now(tenant)

    def reset(self) -> None:
        with self._lock:
            self.offset = timedelta()
            self.frozen_at = None
            self.tenant_offsets.clear()

    def describe(self, tenant: str | None = None) -> dict[str, object]:
        """The clock's state as the control plane shows it."""
        return {
            "now": format_instant(self.now(tenant)),
            "frozen": self.frozen_at is not None,
            "offsetSeconds": self.offset.total_seconds(),
            "tenant": tenant,
            "tenantOffsetSeconds": (
                self.tenant_offsets.get(tenant, timedelta()).total_seconds() if tenant else None
            ),
            "tenants": sorted(self.tenant_offsets),
        }
