"""The kit's error dialect pieces: a violation in the provider's words."""

from __future__ import annotations

from mockserver import kit

SAID = {("grant_type", "enum"): "grant_type must be client_credentials"}


def _violation(name: str, path: str, message: str = "bad", where: str = "body") -> kit.Violation:
    return kit.Violation(where, name, message, schema_path=path)


def test_a_violation_is_explained_in_the_providers_words_first() -> None:
    assert kit.explain(_violation("grant_type", "/properties/grant_type/enum"), SAID) == (
        "grant_type must be client_credentials"
    )
    missing = _violation("", "/required", "'scope' is a required property")
    assert kit.explain(missing, SAID) == "scope is required"
    assert kit.explain(_violation("a/b", "/properties/a/type", "not an int"), SAID) == (
        "b: not an int"
    )
    assert kit.explain(_violation("", "/format", "no", "path"), SAID) == "path: no"
