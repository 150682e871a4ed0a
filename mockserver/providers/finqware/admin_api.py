"""/__admin/finqware/temp-tokens in the admin API's OpenAPI document (GET /__admin/openapi.json)."""

from __future__ import annotations

from typing import Any

from .consent import SKILLS

_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["tenant"],
    "properties": {"tenant": {"type": "string", "minLength": 1}, "skill": {"enum": list(SKILLS)}},
}
_ANSWER = {
    "type": "object",
    "required": ["tenant", "skill", "temp_token"],
    "properties": {
        "tenant": {"type": "string"},
        "skill": {"type": "string"},
        "temp_token": {"type": "string"},
    },
}

admin_paths: dict[str, Any] = {
    "/temp-tokens": {
        "post": {
            "operationId": "finqwareTempToken",
            "tags": ["consents"],
            "summary": "A temp_token for createToken, without the onboarding page",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _REQUEST}},
            },
            "responses": {
                "201": {
                    "description": "A single-use temp_token for the tenant (the client_id).",
                    "content": {"application/json": {"schema": _ANSWER}},
                },
                "400": {"$ref": "#/components/responses/BadRequest"},
            },
        }
    }
}
