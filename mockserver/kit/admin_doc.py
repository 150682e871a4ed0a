"""A provider's admin routes in the admin API's OpenAPI document (`admin_paths`), declared."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["BAD_REQUEST", "TENANT", "TEXT", "admin_operation", "answer", "json_object", "parameter"]

JsonDict = dict[str, Any]
# The admin document's own 400 (admin-openapi.yaml), which every provider's route may answer.
BAD_REQUEST: JsonDict = {"$ref": "#/components/responses/BadRequest"}
TEXT: JsonDict = {"type": "string"}
TENANT: JsonDict = {"type": "string", "minLength": 1}  # a route's `tenant` (`admin_body` checks it)


def json_object(
    properties: Mapping[str, JsonDict],
    required: Iterable[str] | None = None,
    *,
    closed: bool = False,
) -> JsonDict:
    """An object schema; `required` None: every property; `closed`: no other property."""
    schema: JsonDict = {"type": "object"}
    if closed:
        schema["additionalProperties"] = False
    schema["required"] = list(properties if required is None else required)
    return {**schema, "properties": dict(properties)}


def answer(description: str, schema: JsonDict | None = None) -> JsonDict:
    """A response: what it means and, if it has one, its JSON body's schema."""
    found: JsonDict = {"description": description}
    if schema is not None:
        found["content"] = {"application/json": {"schema": schema}}
    return found


def parameter(name: str, where: str, schema: JsonDict, **more: Any) -> JsonDict:
    """A parameter (`more`: `required`, `description`)."""
    return {"name": name, "in": where, **more, "schema": schema}


def admin_operation(
    operation_id: str,
    summary: str,
    responses: Mapping[str, JsonDict],
    *,
    body: JsonDict | None = None,
    parameters: list[JsonDict] | None = None,
) -> JsonDict:
    """An operation of the admin API (tagged `consents`, as the generic consent routes are),
    with a required JSON request body when `body` (its schema) is given."""
    operation: JsonDict = {"operationId": operation_id, "tags": ["consents"], "summary": summary}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return {**operation, "responses": dict(responses)}
