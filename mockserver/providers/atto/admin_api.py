"""/__admin/atto/notifications in the admin API's OpenAPI document (GET /__admin/openapi.json)."""

from __future__ import annotations

from typing import Any

from .notify import MAX_NOTICE_DAYS

_DAYS = {
    "type": "integer",
    "minimum": 0,
    "maximum": MAX_NOTICE_DAYS,
    "description": "Days before consentEnd the UpcomingExpiration notification is sent (0: never).",
}
_SETTING = {
    "type": "object",
    "required": ["tenant", "upcomingExpirationDays"],
    "properties": {"tenant": {"type": "string", "minLength": 1}, "upcomingExpirationDays": _DAYS},
}
_REQUEST = {**_SETTING, "additionalProperties": False}
_ANSWER = {
    "200": {
        "description": "The client's notice period.",
        "content": {"application/json": {"schema": _SETTING}},
    },
    "400": {"$ref": "#/components/responses/BadRequest"},
}

admin_paths: dict[str, Any] = {
    "/notifications": {
        "get": {
            "operationId": "attoNotificationSettings",
            "tags": ["consents"],
            "summary": "A client's upcoming-expiration notice period (default 7 days)",
            "parameters": [
                {
                    "name": "tenant",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                }
            ],
            "responses": _ANSWER,
        },
        "post": {
            "operationId": "attoSetNotificationSettings",
            "tags": ["consents"],
            "summary": "Set it; consents not yet noticed take the new period",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _REQUEST}},
            },
            "responses": _ANSWER,
        },
    }
}
