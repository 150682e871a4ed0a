"""/__admin/fliqa/outbox in the admin API's OpenAPI document (GET /__admin/openapi.json)."""

from __future__ import annotations

from typing import Any

_FILTERS = [
    {"name": name, "in": "query", "description": text, "schema": {"type": "string"}}
    for name, text in (
        ("msisdn", "Only SMS to this number (digits compared)."),
        ("email", "Only e-mails to this address (case-insensitive)."),
        ("tenant", "Only messages sent for this Api-Key."),
    )
]
_MESSAGE = {
    "type": "object",
    "required": ["id", "channel", "to", "otp", "tenant"],
    "properties": {"channel": {"enum": ["sms", "email"]}, "otp": {"type": "string"}},
}
_MESSAGES = {
    "type": "object",
    "required": ["messages", "total"],
    "properties": {
        "messages": {"type": "array", "items": _MESSAGE},
        "total": {"type": "integer", "minimum": 0},
    },
}

admin_paths: dict[str, Any] = {
    "/outbox": {
        "parameters": _FILTERS,
        "get": {
            "operationId": "fliqaOutbox",
            "tags": ["consents"],
            "summary": "The one-time passwords login 'sent', newest first",
            "responses": {
                "200": {
                    "description": "The messages.",
                    "content": {"application/json": {"schema": _MESSAGES}},
                }
            },
        },
        "delete": {
            "operationId": "fliqaClearOutbox",
            "tags": ["consents"],
            "summary": "Delete the messages selected (all without a filter)",
            "responses": {"200": {"$ref": "#/components/responses/Deleted"}},
        },
    }
}
