"""The onboarding journey (/__sandbox/finqware/onboarding) and the admin temp-token shortcut."""

from __future__ import annotations

from typing import Any

from ... import kit
from .consent import DEFAULT_SKILL, SKILLS, tenant_name
from .handlers import issue_temp_token

PAGES = kit.Pages(__package__)
JOURNEY = kit.Tickets("finqware:journey")


def _check_skill(skill: str) -> str:
    if skill not in SKILLS:
        raise kit.PageRefused("Unknown skill", f"{skill} is not a sandbox skill.", 400)
    return skill


def sandbox(site: kit.Site) -> None:
    """/__sandbox/finqware/onboarding?client_id=..&redirect_uri=..[&state=..][&skill=..]."""

    @PAGES.route(site, "/onboarding")
    def onboarding() -> Any:
        args = site.args()
        client_id, chosen = args.get("client_id") or "", args.get("skill") or DEFAULT_SKILL
        if not client_id:
            raise kit.PageRefused("Missing client_id", "client_id names the tenant app.", 400)
        redirect_uri = PAGES.back_url(args.get("redirect_uri") or "", "redirect_uri")
        _check_skill(chosen)
        ctx = site.context(client_id)
        state = {"client_id": client_id, "redirect_uri": redirect_uri, "state": args.get("state")}
        return PAGES.page(
            site,
            "finqware/onboarding.html",
            "Connect your bank",
            name=tenant_name(ctx),
            journey=JOURNEY.issue(ctx, state),
            client_id=client_id,
            skills=SKILLS,
            chosen=chosen,
        )

    @PAGES.route(site, "/onboarding/decision", methods=("POST",))
    def decision() -> Any:
        form = site.form()
        ctx = site.context(form.get("client_id", ""))
        state = JOURNEY.take(ctx, form.get("journey", ""), client_id=ctx.tenant)
        PAGES.ticket(state, "onboarding link")
        choice, skill = form.get("decision"), form.get("skill") or DEFAULT_SKILL
        if choice not in ("approve", "reject"):
            raise kit.PageRefused("Unknown decision", "Choose Approve or Reject.", 400)
        params = {"error": "access_denied"}
        if choice == "approve":
            params = {"temp_token": issue_temp_token(ctx, _check_skill(skill))}
        if state.get("state"):
            params["state"] = str(state["state"])
        if state.get("redirect_uri"):
            return site.redirect_to(str(state["redirect_uri"]), params)
        return PAGES.done(site, None, params, code=True)


def admin(site: kit.Site) -> None:
    """POST /__admin/finqware/temp-tokens {"tenant", "skill"?}: a temp_token without a browser."""

    @site.route("/temp-tokens", methods=("POST",))
    def make_temp_token() -> Any:
        body = site.json_body()
        if not isinstance(body, dict):
            body = {}
        tenant, skill = body.get("tenant"), body.get("skill", DEFAULT_SKILL)
        unknown = sorted(set(body) - {"tenant", "skill"})
        problem = (
            f"unknown fields: {', '.join(unknown)}; allowed: tenant, skill"
            if unknown
            else "tenant (the client_id) must be a non-empty string"
            if not isinstance(tenant, str) or not tenant
            else f"skill must be one of: {', '.join(SKILLS)}"
            if not isinstance(skill, str) or skill not in SKILLS
            else None
        )
        if problem is not None:
            return site.json({"error": "bad_request", "message": problem}, 400)
        temp = issue_temp_token(site.context(str(tenant)), str(skill))
        return site.json({"tenant": tenant, "skill": skill, "temp_token": temp}, 201)
