"""The Onboarding Flow: /__sandbox/api1/consent/<id>/?otc=<code>&redirecturl=<url>."""

from __future__ import annotations

from typing import Any

from ...kit import Journey, Pages, Site, TransitionRefused, is_http_url, with_params
from .consent import STATES, SYSTEMS
from .handlers import consume_one_time_code

PAGES = Pages(__package__)
JOURNEY = Journey("api1:journey")
_NOT_FOUND = ("Consent not found", "This consent does not exist.", 404)


def _bad_link(site: Site, redirect_url: str, delay: str) -> Any:
    if redirect_url and not is_http_url(redirect_url):
        return PAGES.error(
            site, "Invalid redirect", "redirecturl must be an absolute http(s) URL.", 400
        )
    if delay and not (delay.isdigit() and int(delay) <= 60):
        return PAGES.error(
            site, "Invalid redirect delay", "redirectdelay must be 0 to 60 seconds.", 400
        )
    return None


def sandbox(site: Site) -> None:
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
        if not code or consume_one_time_code(ctx, consent_id, code) is None:
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
            journey=JOURNEY.start(ctx, state),
            systems=SYSTEMS,
        )

    @site.route("/consent/<consent_id>/decision", methods=("POST",))
    def decision(consent_id: str) -> Any:
        form = site.form()
        record = site.find(consent_id)
        if record is None:
            return PAGES.error(site, *_NOT_FOUND)
        state = JOURNEY.take(site.context(record.tenant), form.get("journey", ""))
        if not state or state.get("consentId") != consent_id:
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
        except TransitionRefused as refused:
            heading = "Cannot connect" if choice == "approve" else "Cannot cancel"
            return PAGES.error(site, heading, str(refused), 409)
        params = {"consentId": consent_id, "status": "accepted", "source": system}
        if choice == "reject":
            params = {"consentId": consent_id, "status": "rejected"}
        return _back(site, state, params)


def _back(site: Site, state: dict[str, Any], params: dict[str, str]) -> Any:
    url = str(state.get("redirecturl") or "")
    if not url:
        return PAGES.done(site)
    if state.get("delay"):
        target = with_params(url, params)
        return PAGES.page(site, "api1/back.html", "All done", delay=state["delay"], target=target)
    return site.redirect_to(url, params)
