"""The sandbox pages: the onboarding journey and the session's bank authentication."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ... import kit
from .consent import DEFAULT_SKILL, SKILLS, tenant_name
from .handlers import APP_KEYS, TENANTS, issue_temp_token
from .session import NO_SESSION, PENDING, SESSIONS, decide_sca

PAGES = kit.Pages(__package__)
# The journey's state travels in the page as a signed token (opening the page stores nothing);
# a decision spends it once: at most 100 remembered per client_id, for the token's hour.
JOURNEY = kit.Seals("finqware:journey", timedelta(hours=1))
DECIDED = kit.Tickets("finqware:journey-decided", timedelta(hours=1), per_owner=100)


def _check_skill(skill: str) -> str:
    if skill not in SKILLS:
        raise kit.PageRefused("Unknown skill", f"{skill} is not a sandbox skill.", 400)
    return skill


def _known(ctx: kit.Context) -> kit.Context:
    """A client_id the simulator knows (fixtures, or an API call with its secret or app key):
    an unauthenticated page writes nothing for any other."""
    if not ctx.tenant:
        raise kit.PageRefused("Missing client_id", "client_id names the tenant app.", 400)
    if TENANTS.entry(ctx, ctx.tenant) is None and APP_KEYS.entry(ctx, ctx.tenant) is None:
        raise kit.PageRefused(
            "Unknown client_id",
            f"{ctx.tenant} is not registered: call a Finqware operation with it and its "
            "client_secret (or start a session with its client_app_key) first, or list it in "
            "the fixtures.",
            400,
        )
    return ctx


def sandbox(site: kit.Site) -> None:
    """/__sandbox/finqware/onboarding?client_id=..&redirect_uri=..[&state=..][&skill=..] and
    /__sandbox/finqware/sca/<session_id>?client_id=.. (a session's bank authentication)."""

    @PAGES.route(site, "/onboarding")
    def onboarding() -> Any:
        args = site.args()
        ctx = _known(site.context(args.get("client_id") or ""))
        redirect_uri = PAGES.back_url(args.get("redirect_uri") or "", "redirect_uri")
        chosen = _check_skill(args.get("skill") or DEFAULT_SKILL)
        state = {"client_id": ctx.tenant, "redirect_uri": redirect_uri, "state": args.get("state")}
        return PAGES.page(
            site,
            "finqware/onboarding.html",
            "Connect your bank",
            name=tenant_name(ctx),
            journey=JOURNEY.seal(ctx, state),
            client_id=ctx.tenant,
            skills=SKILLS,
            chosen=chosen,
        )

    @PAGES.route(site, "/onboarding/decision", methods=("POST",))
    def decision() -> Any:
        form = site.form()
        ctx = _known(site.context(form.get("client_id", "")))
        state = JOURNEY.spend(ctx, form.get("journey", ""), DECIDED, client_id=ctx.tenant)
        state = PAGES.ticket(state, "onboarding link")  # or decided before (the browser went back)
        params = {"error": "access_denied"}
        if PAGES.decision(form, "Choose Approve or Reject.") == "approve":
            skill = _check_skill(form.get("skill") or DEFAULT_SKILL)
            params = {"temp_token": issue_temp_token(ctx, skill)}
        if state.get("state"):
            params["state"] = str(state["state"])
        return PAGES.back(site, str(state.get("redirect_uri") or ""), params, None, code=True)

    @PAGES.route(site, "/sca/<session_id>")
    def bank(session_id: str) -> Any:
        ctx = site.context(site.args().get("client_id") or "")
        found = _waiting(ctx, session_id)
        country, servicer = SKILLS[found["skill"]]
        return PAGES.page(
            site,
            "finqware/sca.html",
            f"{servicer}: confirm access",
            name=tenant_name(ctx),
            client_id=ctx.tenant,
            session_id=session_id,
            servicer=servicer,
            country=country,
        )

    @PAGES.route(site, "/sca/<session_id>/decision", methods=("POST",))
    def bank_decision(session_id: str) -> Any:
        form = site.form()
        ctx = site.context(form.get("client_id", ""))
        approved = PAGES.decision(form, "Choose Approve or Reject.") == "approve"
        state = decide_sca(ctx, session_id, approved)  # or the 404 or 409 page
        params = {"session_id": session_id, "sca_status": str(state["sca"]).lower()}
        back = str(state.get("redirect_uri") or "")
        return PAGES.back(site, back, params, "Go back to the app to finish.")


def _waiting(ctx: kit.Context, session_id: str) -> kit.JsonDict:
    """The client's live session whose sca step waits for the user; else the error page."""
    state = SESSIONS.peek(ctx, session_id)
    if not isinstance(state, dict) or state.get("tenant") != ctx.tenant:
        raise kit.PageRefused(*NO_SESSION, 404)
    if state["sca"] != PENDING:
        raise kit.PageRefused("Cannot answer", "This session is not waiting for the bank.", 409)
    return state
