"""orjson where it can, the standard library where orjson refuses: the same JSON either way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.jsoncodec import dumps, dumps_bytes


def standard(value: Any, default: Any = None) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=default)


# Strings without lone surrogates (orjson cannot hold them; see the next tests).
text = st.text(st.characters(exclude_categories=["Cs"]))
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | text
documents = st.recursive(
    scalars, lambda inner: st.lists(inner) | st.dictionaries(text, inner), max_leaves=30
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_the_same_bytes_as_the_standard_library(value: Any) -> None:
    assert dumps(value) == standard(value)
    assert dumps_bytes(value) == standard(value).encode()


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.floats(allow_nan=False, allow_infinity=False), st.lists, max_leaves=10))
def test_floats_are_the_same_numbers(value: Any) -> None:
    assert json.loads(dumps(value)) == json.loads(standard(value))


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    for value in (
        {"big": 2**64, "neg": -(2**63) - 1},  # beyond 64 bits
        {1: "a", None: "b", 2.5: "c", False: "d"},  # keys that are not strings
        ["lone \ud800 surrogate"],
    ):
        assert dumps(value) == standard(value)
    assert dumps_bytes({"n": 10**30}) == b'{"n":1000000000000000000000000000000}'


def test_default_sees_datetimes_and_dataclasses_as_before() -> None:
    @dataclass
    class Thing:
        n: int

    value = {"at": datetime(2026, 11, 23, 4, 0, tzinfo=UTC), "thing": Thing(1)}
    assert dumps(value, default=str) == standard(value, default=str)
    assert dumps_bytes(value, default=str) == standard(value, default=str).encode()


def test_nan_becomes_null() -> None:
    """The documented difference: the standard library wrote NaN, which is not JSON."""
    assert dumps([float("nan"), float("inf")]) == "[null,null]"
