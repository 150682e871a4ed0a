"""/__admin/finqware/temp-tokens and /__admin/finqware/sessions/{session_id}/sca in the admin
API's OpenAPI document (GET /__admin/openapi.json)."""

from __future__ import annotations

from ... import kit
from .consent import SKILLS

_TENANT = {"type": "string", "minLength": 1}
_TEXT = {"type": "string"}
_PROBLEM = {"type": "object"}
_REQUEST = kit.json_object(
    {"tenant": _TENANT, "skill": {"enum": list(SKILLS)}}, ["tenant"], closed=True
)
_ANSWER = kit.json_object({"tenant": _TEXT, "skill": _TEXT, "temp_token": _TEXT})
_DECISION = kit.json_object(
    {"tenant": _TENANT, "decision": {"enum": ["approve", "reject"]}}, closed=True
)
_DECIDED = kit.json_object({"session_id": _TEXT, "sca_status": {"enum": ["APPROVED", "REJECTED"]}})

admin_paths = {
    "/sessions/{session_id}/sca": {
        "post": kit.admin_operation(
            "finqwareSessionSca",
            "Answer a session's bank authentication (the sca step) for the user",
            {
                "200": kit.answer("Decided: the session's next step completes or fails.", _DECIDED),
                "400": kit.BAD_REQUEST,
                "404": kit.answer("No live session of the tenant.", _PROBLEM),
                "409": kit.answer("Its sca step is not waiting.", _PROBLEM),
            },
            body=_DECISION,
            parameters=[kit.parameter("session_id", "path", _TEXT, required=True)],
        )
    },
    "/temp-tokens": {
        "post": kit.admin_operation(
            "finqwareTempToken",
            "A temp_token for createToken, without the onboarding page",
            {
                "201": kit.answer(
                    "A single-use temp_token for the tenant (the client_id).", _ANSWER
                ),
                "400": kit.BAD_REQUEST,
            },
            body=_REQUEST,
        )
    },
}
