"""The kit's body fields: credentials in a JSON body, checked in a fixed order."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from mockserver import kit

BODIES = {"op": (("id", "secret"), ("minutes",))}


def _refuse(code: str, message: str) -> kit.ApiError:
    return kit.ApiError(400, "invalid_request", message, code=code)


FIELDS = kit.BodyFields(
    BODIES,
    {"id": "bad_id", "secret": "bad_secret"},
    _refuse,
    {"minutes": ("bad_minutes", lambda v: isinstance(v, int) and v >= 0, "minutes: 0 or more")},
)


def _refusal(body: Any) -> tuple[str | None, str]:
    ctx = cast(kit.Context, SimpleNamespace(body=body, operation_id="op"))
    with pytest.raises(kit.ApiError) as refused:
        FIELDS.check(ctx)
    return refused.value.code, refused.value.message


def test_the_first_failure_answers_in_the_declared_order() -> None:
    assert _refusal([1]) == ("invalid_body", "The request body must be a JSON object.")
    assert _refusal({"x": 1}) == ("missing_fields", "Missing fields: id, secret")
    assert _refusal({"id": 1, "secret": "s", "z": 1, "y": 2}) == (
        "unknown_fields",
        "Unknown fields: y, z",
    )
    assert _refusal({"id": "", "secret": 2}) == ("bad_id", "id must be a non-empty string")
    assert _refusal({"id": "a", "secret": 2})[0] == "bad_secret"
    assert _refusal({"id": "a", "secret": "s", "minutes": -1}) == (
        "bad_minutes",
        "minutes: 0 or more",
    )


def test_a_good_body_names_the_required_fields() -> None:
    ctx = cast(kit.Context, SimpleNamespace(body={"id": "a", "secret": "s"}, operation_id="op"))
    assert FIELDS.check(ctx) == ({"id": "a", "secret": "s"}, ("id", "secret"))


def test_the_engines_violations_get_the_same_codes() -> None:
    def code(*violations: tuple[str, str]) -> str:
        found = [kit.Violation("body", name, "x", schema_path=path) for name, path in violations]
        return FIELDS.code_of(kit.ApiError(400, "invalid_request", "", violations=found), "dflt")

    assert code(("", "/required")) == "missing_fields"
    assert code(("", "/additionalProperties")) == "unknown_fields"
    assert code(("secret", "/properties/secret/minLength")) == "bad_secret"
    assert code(("minutes/0", "/properties/minutes/type")) == "bad_minutes"
    assert code(("", "/type")) == "invalid_body"
    assert code(("other", "/properties/other/type")) == code() == "dflt"
