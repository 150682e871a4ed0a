"""/__admin/atto/notifications in the admin API's OpenAPI document (GET /__admin/openapi.json)."""

from __future__ import annotations

from ... import kit
from .notify import MAX_NOTICE_DAYS

_TENANT = {"type": "string", "minLength": 1}
_DAYS = {
    "type": "integer",
    "minimum": 0,
    "maximum": MAX_NOTICE_DAYS,
    "description": "Days before consentEnd the UpcomingExpiration notification is sent (0: never).",
}
_SETTING = kit.json_object({"tenant": _TENANT, "upcomingExpirationDays": _DAYS})
_REQUEST = kit.json_object({"tenant": _TENANT, "upcomingExpirationDays": _DAYS}, closed=True)
_ANSWER = {"200": kit.answer("The client's notice period.", _SETTING), "400": kit.BAD_REQUEST}

admin_paths = {
    "/notifications": {
        "get": kit.admin_operation(
            "attoNotificationSettings",
            "A client's upcoming-expiration notice period (default 7 days)",
            _ANSWER,
            parameters=[kit.parameter("tenant", "query", _TENANT, required=True)],
        ),
        "post": kit.admin_operation(
            "attoSetNotificationSettings",
            "Set it; consents not yet noticed take the new period",
            _ANSWER,
            body=_REQUEST,
        ),
    }
}
