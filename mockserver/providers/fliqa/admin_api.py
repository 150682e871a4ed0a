"""/__admin/fliqa/outbox in the admin API's OpenAPI document (GET /__admin/openapi.json)."""

from __future__ import annotations

from ... import kit

_FILTERS = [
    kit.parameter(name, "query", {"type": "string"}, description=text)
    for name, text in (
        ("msisdn", "Only SMS to this number (digits compared)."),
        ("email", "Only e-mails to this address (case-insensitive)."),
        ("tenant", "Only messages sent for this Api-Key."),
    )
]
_MESSAGE = kit.json_object(
    {"channel": {"enum": ["sms", "email"]}, "otp": {"type": "string"}},
    ["id", "channel", "to", "otp", "tenant"],
)
_MESSAGES = kit.json_object(
    {"messages": {"type": "array", "items": _MESSAGE}, "total": {"type": "integer", "minimum": 0}}
)

admin_paths = {
    "/outbox": {
        "parameters": _FILTERS,
        "get": kit.admin_operation(
            "fliqaOutbox",
            "The one-time passwords login 'sent', newest first",
            {"200": kit.answer("The messages.", _MESSAGES)},
        ),
        "delete": kit.admin_operation(
            "fliqaClearOutbox",
            "Delete the messages selected (all without a filter)",
            {"200": {"$ref": "#/components/responses/Deleted"}},
        ),
    }
}
