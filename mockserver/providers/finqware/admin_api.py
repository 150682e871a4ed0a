"""POST /__admin/finqware/temp-tokens and /__admin/finqware/sessions/{session_id}/sca: a
temp_token without a browser, and the bank's answer to a session's SCA step."""

from __future__ import annotations

from typing import Any

from ... import kit
from .consent import DEFAULT_SKILL, SKILLS
from .handlers import issue_temp_token
from .session import decide_sca

_PROBLEM = {"type": "object"}
_REQUEST = kit.json_object(
    {"tenant": kit.TENANT, "skill": {"enum": list(SKILLS)}}, ["tenant"], closed=True
)
_ANSWER = kit.json_object({"tenant": kit.TEXT, "skill": kit.TEXT, "temp_token": kit.TEXT})
_DECISION = kit.json_object(
    {"tenant": kit.TENANT, "decision": {"enum": ["approve", "reject"]}}, closed=True
)
_DECIDED = kit.json_object(
    {"session_id": kit.TEXT, "sca_status": {"enum": ["APPROVED", "REJECTED"]}}
)

ROUTES = kit.AdminRoutes(tenant="the client_id")  # kit.assemble: admin, admin_paths


@ROUTES.route(
    "/sessions/{session_id}/sca",
    "post",
    "finqwareSessionSca",
    "Answer a session's bank authentication (the sca step) for the user",
    responses={
        "200": kit.answer("Decided: the session's next step completes or fails.", _DECIDED),
        "400": kit.BAD_REQUEST,
        "404": kit.answer("No live session of the tenant.", _PROBLEM),
        "409": kit.answer("Its sca step is not waiting.", _PROBLEM),
    },
    body=_DECISION,
    parameters=[kit.parameter("session_id", "path", kit.TEXT, required=True)],
)
def session_sca(site: kit.Site, body: kit.JsonDict, session_id: str) -> Any:
    # Refused (the kit answers it) with no live session (404), or when not waiting (409).
    state = decide_sca(site.context(body["tenant"]), session_id, body["decision"] == "approve")
    return site.json({"session_id": session_id, "sca_status": state["sca"]}, 200)


@ROUTES.route(
    "/temp-tokens",
    "post",
    "finqwareTempToken",
    "A temp_token for createToken, without the onboarding page",
    responses={
        "201": kit.answer("A single-use temp_token for the tenant (the client_id).", _ANSWER),
        "400": kit.BAD_REQUEST,
    },
    body=_REQUEST,
)
def make_temp_token(site: kit.Site, body: kit.JsonDict) -> Any:
    tenant, skill = str(body["tenant"]), str(body.get("skill", DEFAULT_SKILL))
    temp = issue_temp_token(site.context(tenant), skill)
    return site.json({"tenant": tenant, "skill": skill, "temp_token": temp}, 201)
