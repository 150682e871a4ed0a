"""The onboarding journey (/__sandbox/finqware/onboarding) and the admin temp-token shortcut."""

from __future__ import annotations

from typing import Any

from ... import kit
from .consent import DEFAULT_SKILL, SKILLS, tenant_name
from .handlers import issue_temp_token

PAGES = kit.Pages(__package__)
JOURNEY = kit.Tickets("finqware:journey")


def sandbox(site: kit.Site) -> None:
    """/__sandbox/finqware/onboarding?client_id=..&redirect_uri=..[&state=..][&skill=..]."""

    @site.route("/onboarding")
    def onboarding() -> Any:
        args = site.args()
        client_id, redirect_uri = args.get("client_id") or "", args.get("redirect_uri") or ""
        chosen = args.get("skill") or DEFAULT_SKILL
        if not client_id:
            return PAGES.error(site, "Missing client_id", "client_id names the tenant app.", 400)
        if redirect_uri and not kit.is_http_url(redirect_uri):
            message = "redirect_uri must be an absolute http(s) URL."
            return PAGES.error(site, "Invalid redirect", message, 400)
        if chosen not in SKILLS:
            return PAGES.error(site, "Unknown skill", f"{chosen} is not a sandbox skill.", 400)
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

    @site.route("/onboarding/decision", methods=("POST",))
    def decision() -> Any:
        form = site.form()
        ctx = site.context(form.get("client_id", ""))
        state = JOURNEY.take(ctx, form.get("journey", ""), client_id=ctx.tenant)
        if not state:
            return PAGES.expired(site, "onboarding link")
        choice, skill = form.get("decision"), form.get("skill") or DEFAULT_SKILL
        if choice not in ("approve", "reject"):
            return PAGES.error(site, "Unknown decision", "Choose Approve or Reject.", 400)
        if choice == "approve" and skill not in SKILLS:
            return PAGES.error(site, "Unknown skill", f"{skill} is not a sandbox skill.", 400)
        params = {"error": "access_denied"}
        if choice == "approve":
            params = {"temp_token": issue_temp_token(ctx, skill)}
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
            if skill not in SKILLS
            else None
        )
        if problem is not None:
            return site.json({"error": "bad_request", "message": problem}, 400)
        temp = issue_temp_token(site.context(str(tenant)), str(skill))
        return site.json({"tenant": tenant, "skill": skill, "temp_token": temp}, 201)
