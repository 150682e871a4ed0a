"""kit.AdminFields.texts and instants: several optional fields taken at once, with their checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mockserver import kit


def test_texts_takes_the_named_fields_given_even_null() -> None:
    given = kit.AdminFields({"status": "NEW", "ref": "r-1", "note": None, "other": 1})
    assert given.texts("ref", "note", "absent") == {"ref": "r-1", "note": None}
    assert set(given.left) == {"other"}


def test_texts_refuses_what_is_not_a_non_empty_string() -> None:
    given = kit.AdminFields({"status": "NEW", "ref": ""})
    with pytest.raises(ValueError, match=r"^ref must be a non-empty string, got ''$"):
        given.texts("ref")


def test_instants_takes_the_fields_given_a_value_and_leaves_null_ones() -> None:
    given = kit.AdminFields({"status": "NEW", "from": "2024-01-02T03:04:05Z", "to": None})
    taken = given.instants("from", "to", "absent")
    assert taken == {"from": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}
    assert given.left == {"to": None}  # for done() to refuse
    with pytest.raises(ValueError, match=r"unknown consent fields: to; allowed: from"):
        given.done("from")


def test_instants_refuses_a_value_that_is_not_a_date_time_in_order() -> None:
    given = kit.AdminFields({"status": "NEW", "a": "soon", "b": "later"})
    with pytest.raises(ValueError, match=r"^a must be an RFC 3339 date-time, got 'soon'$"):
        given.instants("a", "b")
