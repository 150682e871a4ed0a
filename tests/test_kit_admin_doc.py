"""The kit's declarations of a provider's admin routes for the admin API's OpenAPI document."""

from __future__ import annotations

from mockserver import kit


def test_an_object_schema_requires_every_property_unless_told() -> None:
    text = {"type": "string"}
    assert kit.json_object({"a": text, "b": text}) == {
        "type": "object",
        "required": ["a", "b"],
        "properties": {"a": text, "b": text},
    }
    closed = kit.json_object({"a": text, "b": text}, ["a"], closed=True)
    assert closed["additionalProperties"] is False and closed["required"] == ["a"]


def test_an_operation_is_tagged_with_its_body_parameters_and_answers() -> None:
    body = kit.json_object({"tenant": {"type": "string"}})
    tenant = kit.parameter("tenant", "query", {"type": "string"}, required=True)
    assert tenant == {
        "name": "tenant",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
    }
    operation = kit.admin_operation(
        "setThing",
        "Set a thing",
        {"200": kit.answer("Set.", body), "400": kit.BAD_REQUEST},
        body=body,
        parameters=[tenant],
    )
    assert list(operation) == [
        "operationId",
        "tags",
        "summary",
        "parameters",
        "requestBody",
        "responses",
    ]
    assert operation["tags"] == ["consents"] and operation["parameters"] == [tenant]
    assert operation["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": body}},
    }
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == body
    assert kit.answer("Gone.") == {"description": "Gone."}
    assert "requestBody" not in kit.admin_operation("getThing", "Get", {"200": kit.answer("x")})
