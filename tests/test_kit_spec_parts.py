"""kit.spec_answer_example (an example inline in an operation's answer) and spec_parameter."""

from __future__ import annotations

import pytest

from mockserver import kit


def test_an_operation_s_inline_example_is_read_as_a_copy() -> None:
    example = kit.spec_answer_example("fliqa.yaml", "getConsentInquiry", "default")
    assert example["frequency"] == "once" and example["tenant"]["addressZipCode"] == "1010"
    example["tenant"].clear()  # the caller's own copy: the spec's stays as it is
    again = kit.spec_answer_example("fliqa.yaml", "getConsentInquiry", "default")
    assert again["tenant"]["companyName"] == "Sandbox Tenant GmbH"


def test_an_unknown_operation_status_or_example_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no operation nowhere"):
        kit.spec_answer_example("fliqa.yaml", "nowhere", "default")
    with pytest.raises(KeyError):
        kit.spec_answer_example("fliqa.yaml", "login", "otp", status="201")
    with pytest.raises(KeyError):
        kit.spec_answer_example("fliqa.yaml", "login", "missing")


def test_a_shared_parameter_is_read() -> None:
    locale = kit.spec_parameter("fliqa.yaml", "Locale")
    assert (locale["name"], locale["in"], locale["schema"]) == (
        "locale",
        "query",
        {"type": "string"},
    )
    with pytest.raises(KeyError):
        kit.spec_parameter("fliqa.yaml", "Nowhere")
