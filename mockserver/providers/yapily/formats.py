"""Yapily's formats: millisecond stamps, lenient query dates, durations, consent tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from ... import kit

# Yapily's timestamps: RFC 3339 in UTC with milliseconds, e.g. 2021-06-08T10:59:35.138Z.
stamp = kit.format_millis
# `from`/`before` in Yapily's `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, rolled over leniently as Java does
# (the spec's pattern has already refused any other shape).
query_instant = kit.lenient_instant


def time_to_expire(expires: datetime, now: datetime) -> tuple[int, str] | None:
    """Milliseconds left and the same as an ISO 8601 duration (Java's Duration.toString)."""
    millis = (expires - now) // timedelta(milliseconds=1)
    return (millis, kit.iso_duration(expires - now)) if millis > 0 else None


# The simulator's own signing key: tokens are verifiable (see verify_token), never real; HS512
# JWTs shaped like the seed's consent token.
TOKENS = kit.JwtKey(b"consent-mockserver yapily sandbox signing key", "HS512")
sign_token, verify_token = TOKENS.sign, TOKENS.verify


def consent_token(data: kit.JsonDict) -> str:
    claims = {"INSTITUTION": data.get("institutionId"), "CONSENT": data["id"]}
    if data.get("applicationUserId"):
        claims["APPLICATION_USER_ID"] = data["applicationUserId"]
    claims["USER"] = data.get("userUuid")
    return sign_token(claims)
