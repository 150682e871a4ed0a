"""The kit's Java-style instants and durations, and a provider's own JWT key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mockserver import kit


def test_millisecond_stamps_are_utc_and_clamped_at_the_ends_of_time() -> None:
    moment = datetime(2021, 6, 8, 12, 59, 35, 138999, tzinfo=timezone(timedelta(hours=2)))
    assert kit.format_millis(moment) == "2021-06-08T10:59:35.138Z"
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert kit.format_millis(early) == "0001-01-01T00:00:00.000Z"


def test_lenient_instants_roll_over_as_java_and_clamp() -> None:
    assert kit.lenient_instant("2021-11-31T10:00:00.5+0100") == datetime(
        2021, 12, 1, 9, 0, 0, 500000, tzinfo=UTC
    )
    assert kit.lenient_instant("2021-06-01T00:00:00Z") == datetime(2021, 6, 1, tzinfo=UTC)
    assert kit.lenient_instant("0000-01-01T00:00:00Z") == datetime.min.replace(tzinfo=UTC)
    assert kit.lenient_instant("9999-12-31T23:00:00-02:00") == datetime.max.replace(tzinfo=UTC)
    with pytest.raises(ValueError):
        kit.lenient_instant("2021-06-01")


def test_iso_durations_leave_out_zero_parts_and_trailing_zeros() -> None:
    assert kit.iso_duration(timedelta(hours=2159, minutes=59, seconds=59.123)) == (
        "PT2159H59M59.123S"
    )
    assert kit.iso_duration(timedelta(minutes=5)) == "PT5M"
    assert kit.iso_duration(timedelta(seconds=1, milliseconds=500)) == "PT1.5S"
    assert kit.iso_duration(timedelta(hours=1, microseconds=999)) == "PT1H"


def test_a_jwt_key_verifies_only_what_it_signed() -> None:
    key = kit.JwtKey(b"k1", "HS512")
    token = key.sign({"A": 1, "B": "x"})
    assert key.verify(token) == {"A": 1, "B": "x"}
    assert kit.verify_jwt(token, b"k1", "HS512") == {"A": 1, "B": "x"}
    assert kit.JwtKey(b"k2", "HS512").verify(token) is None
    assert kit.JwtKey(b"k1").verify(token) is None  # another algorithm
