"""/__admin/finqware/temp-tokens and /__admin/finqware/sessions/{session_id}/sca in the admin
API's OpenAPI document (GET /__admin/openapi.json)."""

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

_DECISION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["tenant", "decision"],
    "properties": {
        "tenant": {"type": "string", "minLength": 1},
        "decision": {"enum": ["approve", "reject"]},
    },
}
_DECIDED = {
    "type": "object",
    "required": ["session_id", "sca_status"],
    "properties": {
        "session_id": {"type": "string"},
        "sca_status": {"enum": ["APPROVED", "REJECTED"]},
    },
}
_PROBLEM = {"application/json": {"schema": {"type": "object"}}}

admin_paths: dict[str, Any] = {
    "/sessions/{session_id}/sca": {
        "post": {
            "operationId": "finqwareSessionSca",
            "tags": ["consents"],
            "summary": "Answer a session's bank authentication (the sca step) for the user",
            "parameters": [
                {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _DECISION}},
            },
            "responses": {
                "200": {
                    "description": "Decided: the session's next step completes or fails.",
                    "content": {"application/json": {"schema": _DECIDED}},
                },
                "400": {"$ref": "#/components/responses/BadRequest"},
                "404": {"description": "No live session of the tenant.", "content": _PROBLEM},
                "409": {"description": "Its sca step is not waiting.", "content": _PROBLEM},
            },
        }
    },
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
    },
}
