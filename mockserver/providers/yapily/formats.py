"""Yapily's formats: millisecond stamps, lenient query dates, durations, consent tokens."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ... import kit


def stamp(value: datetime) -> str:
    """Yapily's timestamps: RFC 3339 in UTC with milliseconds, e.g. 2021-06-08T10:59:35.138Z."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: clamp to the ends of time
        utc = (datetime.min if value.year < 5000 else datetime.max).replace(tzinfo=UTC)
    return f"{utc.year:04d}-" + utc.strftime("%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


_QUERY_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|([+-])(\d{2}):?(\d{2}))$"
)


def query_instant(text: str) -> datetime:
    """`from`/`before` in Yapily's `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, rolled over leniently as Java."""
    match = _QUERY_DATE.match(text)
    if match is None:  # the spec's pattern already refused it; this is a safety net
        raise kit.ApiError(400, "invalid_request", f"{text!r} is not a date-time")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micros = int((match.group(7) or "0").ljust(6, "0")[:6])
    zone = UTC
    if match.group(8) != "Z":
        offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        zone = timezone(-offset if match.group(9) == "-" else offset)
    try:  # year 0000 and instants past 9999 (after the offset) fall to the ends of time
        start = datetime(year, month, 1, hour, minute, second, micros, tzinfo=zone)
        return (start + timedelta(days=day - 1)).astimezone(UTC)
    except (ValueError, OverflowError):
        return (datetime.min if year < 5000 else datetime.max).replace(tzinfo=UTC)


def time_to_expire(expires: datetime, now: datetime) -> tuple[int, str] | None:
    """Milliseconds left and the same as an ISO 8601 duration (Java's Duration.toString)."""
    millis = (expires - now) // timedelta(milliseconds=1)
    if millis <= 0:
        return None
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, fraction = divmod(rest, 1000)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or fraction:
        text += f"{seconds}.{fraction:03d}".rstrip("0").rstrip(".") + "S"
    return millis, text


# The simulator's own signing key: tokens are verifiable (see verify_token), never real.
SIGNING_KEY = b"consent-mockserver yapily sandbox signing key"


def sign_token(claims: Mapping[str, Any]) -> str:
    """An HS512 JWT shaped like the seed's consent token, signed with the simulator's key."""
    return kit.sign_jwt(claims, SIGNING_KEY, "HS512")


def verify_token(token: str) -> kit.JsonDict | None:
    """The claims of a token this simulator signed; None for anything else."""
    return kit.verify_jwt(token, SIGNING_KEY, "HS512")


def consent_token(data: kit.JsonDict) -> str:
    claims = {"INSTITUTION": data.get("institutionId"), "CONSENT": data["id"]}
    if data.get("applicationUserId"):
        claims["APPLICATION_USER_ID"] = data["applicationUserId"]
    claims["USER"] = data.get("userUuid")
    return sign_token(claims)
