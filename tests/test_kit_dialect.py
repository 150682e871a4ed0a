"""The kit's error dialect: RFC 7807 problem details, a violation in the provider's words, a
list's order parameter, a page's delay."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mockserver import kit

SCOPE = kit.ErrorScope(
    provider="p",
    method="GET",
    path="/p/things",
    operation_id="listThings",
    now=datetime(2030, 1, 1, tzinfo=UTC),
    request_headers={},
    request_id="0123456789abcdef-0123456789abcdef",
)


def test_a_problem_names_its_rfc_section_title_and_trace() -> None:
    reply = kit.problem_details(kit.ApiError(404, "not_found", "No thing."), SCOPE)
    assert reply.status == 404 and reply.media_type == "application/problem+json"
    assert reply.body == {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        "title": "Not Found",
        "status": 404,
        "detail": "No thing.",
        "instance": "/p/things",
        "traceId": "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01",
    }
    assert (
        kit.problem_details(kit.ApiError(428, "x", "y"), SCOPE)
        .body["type"]
        .endswith("rfc6585#section-3")
    )
    assert kit.problem_details(kit.ApiError(418, "x", "y"), SCOPE).body["type"] == "about:blank"


def test_a_refused_request_lists_its_errors_by_field_in_the_words_asked() -> None:
    violations = [
        kit.Violation("query", "Count", "too big"),
        kit.Violation("query", "Count", "odd"),
        kit.Violation("body", "", "not an object"),
    ]
    err = kit.ApiError(400, "invalid_request", "bad", violations=violations)
    plain = kit.problem_details(err, SCOPE).body
    assert plain["title"] == "One or more validation errors occurred."
    assert plain["errors"] == {"Count": ["too big", "odd"], "body": ["not an object"]}
    assert plain["detail"] == "bad"
    worded = kit.problem_details(
        err, SCOPE, lambda v: "accepts 1-9" if v.message == "odd" else v.message
    )
    assert worded.body["errors"]["Count"] == ["too big", "accepts 1-9"]
    assert worded.body["detail"] == "accepts 1-9"


def test_an_order_clause_names_a_field_in_any_case_and_a_direction() -> None:
    fields = ("createdOn", "name")
    assert kit.order_clause("CREATEDON", fields) == ("createdOn", False)
    assert kit.order_clause("name DeSc", fields) == ("name", True)
    assert kit.order_clause("name asc", fields) == ("name", False)
    with pytest.raises(KeyError):
        kit.order_clause("status", fields)


def test_the_operations_answering_errors_in_a_schema_come_from_the_spec() -> None:
    v2 = kit.spec_error_operations("yapily.yaml", "ApiErrorResponse")
    assert "extendConsent" in v2 and "registerWebhook" in v2  # inline, and a component's $ref
    assert "getConsents" not in v2
    assert "getConsents" in kit.spec_error_operations("yapily.yaml", "ApiResponseError")
    assert not kit.spec_error_operations("api1.yaml", "ApiErrorResponse")


def test_a_page_delay_is_empty_or_whole_seconds_up_to_the_most() -> None:
    assert kit.Pages.seconds("", "delay", 60, "Bad") == ""
    assert kit.Pages.seconds("60", "delay", 60, "Bad") == "60"
    for wrong in ("61", "-1", "1.5", "x"):
        with pytest.raises(kit.PageRefused) as refused:
            kit.Pages.seconds(wrong, "delay", 60, "Bad")
        assert (refused.value.heading, refused.value.status) == ("Bad", 400)
        assert refused.value.message == "delay must be 0 to 60 seconds."


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
