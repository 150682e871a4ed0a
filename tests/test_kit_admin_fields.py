"""kit.AdminFields.checked (fields taken with their checks), spec_enum and spec_example."""

from __future__ import annotations

import pytest

from mockserver import kit

CHECKS = {"name": lambda v: isinstance(v, str), "size": lambda v: v in (1, 2)}


def test_the_given_fields_that_pass_are_taken_and_the_rest_left() -> None:
    given = kit.AdminFields({"status": "NEW", "size": 2, "other": 1})
    assert given.checked(CHECKS, "{name} {value} is wrong") == {"size": 2}
    assert "size" not in given and "other" in given


def test_a_failing_field_is_refused_in_the_words_given() -> None:
    given = kit.AdminFields({"status": "NEW", "name": "a", "size": "big"})
    with pytest.raises(ValueError, match=r"^size 'big' is not allowed$"):
        given.checked(CHECKS, "{name} {value} is not allowed")


def test_spec_enum_reads_a_property_s_enum_inline_or_by_ref() -> None:
    assert kit.spec_enum("fliqa.yaml", "ConsentInquiry", "frequency") == ("once", "daily")
    scopes = kit.spec_enum("fliqa.yaml", "ConsentScope")
    assert kit.spec_enum("fliqa.yaml", "ConsentInquiry", "scope") == scopes
    assert scopes == ("all", "accounts", "balances", "transactions")


def test_spec_example_reads_an_example_s_value_as_a_copy() -> None:
    example = kit.spec_example("yapily.yaml", "ConsentBare")
    assert example["status"] == "AUTHORIZED" and len(example["featureScope"]) == 13
    assert example["featureScope"][:2] == ["ACCOUNT_BENEFICIARIES", "ACCOUNT_STATEMENT_FILE"]
    example["featureScope"].clear()  # the caller's own copy: the spec's stays as it is
    assert len(kit.spec_example("yapily.yaml", "ConsentBare")["featureScope"]) == 13
