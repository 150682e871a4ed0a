"""Instants and durations as a Java service writes and reads them: milliseconds, leniency."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["format_millis", "iso_duration", "lenient_instant"]

_LENIENT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|([+-])(\d{2}):?(\d{2}))$"
)


def _end_of_time(year: int) -> datetime:
    """The end of time nearest a year beyond what a `datetime` holds."""
    return (datetime.min if year < 5000 else datetime.max).replace(tzinfo=UTC)


def format_millis(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. 2021-06-08T10:59:35.138Z; an instant whose UTC
    falls outside what a `datetime` holds (0001-01-01T00:00:00+01:00) is clamped to its end."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = _end_of_time(value.year)
    return f"{utc.year:04d}-" + utc.strftime("%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def lenient_instant(text: str) -> datetime:
    """`yyyy-MM-ddTHH:mm:ss[.fraction](Z|±hh[:]mm)` read as Java's lenient date formats do: a
    day past its month's end rolls into the next month (31 November is 1 December), and what a
    `datetime` cannot hold (year 0000, past 9999 after the offset) is clamped to the ends of
    time. ValueError for text of another shape."""
    match = _LENIENT.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a date-time")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micros = int((match.group(7) or "0").ljust(6, "0")[:6])
    zone = UTC
    if match.group(8) != "Z":
        offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        zone = timezone(-offset if match.group(9) == "-" else offset)
    try:
        start = datetime(year, month, 1, hour, minute, second, micros, tzinfo=zone)
        return (start + timedelta(days=day - 1)).astimezone(UTC)
    except (ValueError, OverflowError):
        return _end_of_time(year)


def iso_duration(left: timedelta) -> str:
    """A positive duration as Java's `Duration.toString()` writes it, to the millisecond:
    hours, minutes and seconds with a fraction, zero parts left out (`PT2159H59M59.123S`)."""
    millis = left // timedelta(milliseconds=1)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, fraction = divmod(rest, 1000)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or fraction:
        text += f"{seconds}.{fraction:03d}".rstrip("0").rstrip(".") + "S"
    return text
