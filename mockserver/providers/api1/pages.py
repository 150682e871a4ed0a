"""The Onboarding Flow: /__sandbox/api1/consent/<id>/?otc=<code>&redirecturl=<url>."""

from __future__ import annotations

from typing import Any

from ... import kit
from .consent import STATES, SYSTEMS
from .handlers import ONE_TIME_CODES

PAGES = kit.Pages(__package__)
JOURNEY = kit.Tickets("api1:journey")
_NOT_FOUND = ("Consent not found", "This consent does not exist.", 404)


def _bad_link(site: kit.Site, redirect_url: str, delay: str) -> Any:
    if redirect_url and not kit.is_http_url(redirect_url):
        return PAGES.error(
            site, "Invalid redirect", "redirecturl must be an absolute http(s) URL.", 400
        )
    if delay and not (delay.isdigit() and int(delay) <= 60):
        return PAGES.error(
            site, "Invalid redirect delay", "redirectdelay must be 0 to 60 seconds.", 400
        )
    return None


def sandbox(site: kit.Site) -> None:
    @site.route("/consent/<consent_id>/")
    def onboarding(consent_id: str) -> Any:
        args = site.args()
        redirect_url, delay = args.get("redirecturl") or "", args.get("redirectdelay") or ""
        refused = _bad_link(site, redirect_url, delay)
        if refused is not None:
            return refused
        record = site.find(consent_id)
        if record is None:
            return PAGES.error(site, *_NOT_FOUND)
        ctx = site.context(record.tenant)
        code = args.get("otc") or ""
        if not ONE_TIME_CODES.take(ctx, code, consentId=consent_id):
            message = (
                "This onboarding link is invalid, expired or already used. "
                "Ask the service that sent you here for a new link."
            )
            return PAGES.error(site, "Link expired", message, 403)
        status = STATES.status_of(record.data)
        if status != "CREATED":
            return PAGES.error(site, "Already connected", f"This consent is {status}.", 409)
        state = {"consentId": consent_id, "redirecturl": redirect_url, "delay": delay}
        return PAGES.page(
            site,
            "api1/onboarding.html",
            "Connect your accounting system",
            name=record.data.get("name") or "A service",
            journey=JOURNEY.issue(ctx, state),
            systems=SYSTEMS,
        )

    @site.route("/consent/<consent_id>/decision", methods=("POST",))
    def decision(consent_id: str) -> Any:
        form = site.form()
        record = site.find(consent_id)
        if record is None:
            return PAGES.error(site, *_NOT_FOUND)
        state = JOURNEY.take(
            site.context(record.tenant), form.get("journey", ""), consentId=consent_id
        )
        if not state:
            return PAGES.expired(site, "onboarding link")
        choice = form.get("decision")
        if choice not in ("approve", "reject"):
            return PAGES.error(site, "Unknown decision", "Choose Connect or Cancel.", 400)
        system = form.get("system") or "testone"
        if choice == "approve" and system not in SYSTEMS:
            return PAGES.error(site, "Unknown system", f"{system} is not supported.", 400)
        try:
            if choice == "approve":
                site.move(consent_id, "ACCEPTED", source=system)
            else:
                site.move(consent_id, "REVOKED")
        except kit.TransitionRefused as refused:
            heading = "Cannot connect" if choice == "approve" else "Cannot cancel"
            return PAGES.error(site, heading, str(refused), 409)
        params = {"consentId": consent_id, "status": "accepted", "source": system}
        if choice == "reject":
            params = {"consentId": consent_id, "status": "rejected"}
        return _back(site, state, params)


def _back(site: kit.Site, state: dict[str, Any], params: dict[str, str]) -> Any:
    url = str(state.get("redirecturl") or "")
    if not url:
        return PAGES.done(site)
    if state.get("delay"):
        target = kit.with_params(url, params)
        return PAGES.page(site, "api1/back.html", "All done", delay=state["delay"], target=target)
    return site.redirect_to(url, params)
