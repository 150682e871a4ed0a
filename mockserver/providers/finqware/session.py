"""Finqware's onboarding session (FACTS-2 §5.2): POST /v1/sessions, then its one SCA step."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from urllib.parse import quote

from ... import kit
from . import consent
from .handlers import bad, handlers, issue_temp_token, unauthorized

NONCE_LIFETIME = timedelta(minutes=30)  # "the nonce expires in 30 minutes" (2019 docs)
# A session lives in the store while its nonce does; at most 50 live ones per client_id (the
# 51st ends the oldest), and the expired ones are collected when the client starts another.
SESSIONS = kit.Tickets("finqware:session", NONCE_LIFETIME, per_owner=50)
SCA_STEP = "sca"  # Simulator choice: the name of an account-information skill's one step
CREATED, IN_PROGRESS, COMPLETED = "SESSION_CREATED", "SESSION_IN_PROGRESS", "SESSION_COMPLETED"
PENDING, APPROVED, REJECTED = "PENDING", "APPROVED", "REJECTED"
NO_SESSION = ("Session not found", "This session does not exist, has expired or has ended.")


def _keep(ctx: kit.Context, session_id: str, state: kit.JsonDict) -> None:
    """Store the session (again) until its current nonce expires."""
    expires = datetime.fromisoformat(state["expires"])
    SESSIONS.issue(ctx, state, key=session_id, owner=state["tenant"], expires=expires)


def _next_nonce(ctx: kit.Context, state: kit.JsonDict) -> str:
    state["nonce"] = consent.token()
    state["expires"] = (ctx.now + NONCE_LIFETIME).isoformat()
    return str(state["nonce"])


@handlers
def create_session(ctx: kit.Context) -> kit.Reply:
    """A session for one end user (`tenant_user_id`) and one skill; its first nonce."""
    skill = str(ctx.body["skill"])
    if skill not in consent.SKILLS:
        known = ", ".join(consent.SKILLS)
        raise bad("invalid_skill_name", f"{skill} is not a skill; known: {known}")
    session_id = str(uuid.uuid4())
    state: kit.JsonDict = {"tenant": ctx.tenant, "skill": skill, "status": CREATED, "sca": None}
    state |= {"tenant_user_id": ctx.body["tenant_user_id"], "redirect_uri": ""}
    nonce = _next_nonce(ctx, state)
    _keep(ctx, session_id, state)
    return kit.Reply(200, {"nonce": nonce, "session_id": session_id, "status": CREATED})


def _checked(ctx: kit.Context, state: kit.JsonDict) -> None:
    """The step's own fields against the session."""
    body = ctx.body
    if not kit.same_secret(state["nonce"], body["nonce"]):
        raise unauthorized(
            "unauthorized_tenant", "nonce is not the session's current one (each step consumes it)"
        )
    if body["skill"] != state["skill"]:  # a session is for the skill it was created with
        raise bad("invalid_skill_name", f"this session is for the skill {state['skill']}")
    if body["step"] != SCA_STEP:
        raise bad("invalid_step", f"unknown step {body['step']!r}; this skill's one step is 'sca'")
    back = str(body["data"].get("redirect_uri") or "")
    if state["sca"] is None and back and not kit.is_http_url(back):
        raise bad("invalid_field", "data.redirect_uri must be an absolute http(s) URL")


@handlers
def create_session_step(ctx: kit.Context) -> kit.Reply:
    """Submit the `sca` step: it starts the bank's authentication, then reports it until the
    user decided (the sandbox bank page, or the admin API); approved ends the session with
    the temp_token, rejected with 400 tpp_redirect_error."""
    session_id = str(ctx.path["session_id"])
    state = SESSIONS.take(ctx, session_id, tenant=ctx.tenant)  # one step at a time
    if state is None:
        message = "Unknown, expired or finished session for this client_id"
        raise kit.ApiError(404, "invalid_request", message, code="invalid_session_id")
    try:
        _checked(ctx, state)
    except kit.ApiError:
        _keep(ctx, session_id, state)  # a refused step leaves the session as it was
        raise
    data: kit.JsonDict = {}
    if state["sca"] is None:
        state |= {"sca": PENDING, "redirect_uri": str(ctx.body["data"].get("redirect_uri") or "")}
    if state["sca"] == REJECTED:
        raise bad("tpp_redirect_error", "The user did not authorise access at the bank")
    status, nonce = IN_PROGRESS, _next_nonce(ctx, state)
    if state["sca"] == APPROVED:
        status, data["temp_token"] = COMPLETED, issue_temp_token(ctx, state["skill"])
    else:
        url = f"{ctx.sandbox_url}/sca/{session_id}?client_id={quote(ctx.tenant, safe='')}"
        data["sca_url"] = url
        state["status"] = status
        _keep(ctx, session_id, state)
    data["sca_status"] = state["sca"]
    body = {"step_id": str(uuid.uuid4()), "nonce": nonce, "status": status, "data": data}
    return kit.Reply(200, body)


def decide_sca(ctx: kit.Context, session_id: str, approved: bool) -> kit.JsonDict:
    """The user's answer at the bank (page or admin API); refused (404) if there is no such
    live session, or (409) if its SCA step is not waiting for one."""
    state: kit.JsonDict | None = SESSIONS.take(ctx, session_id, tenant=ctx.tenant)
    if state is None:
        raise kit.PageRefused(*NO_SESSION, 404)
    if state["sca"] != PENDING:
        _keep(ctx, session_id, state)
        waiting = "has not started its sca step" if state["sca"] is None else "was already decided"
        raise kit.PageRefused("Cannot answer", f"This session {waiting}.", 409)
    state["sca"] = APPROVED if approved else REJECTED
    _keep(ctx, session_id, state)
    return state
