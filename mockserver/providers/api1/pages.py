"""The Onboarding Flow: /__sandbox/api1/consent/<id>/[<system>/]?otc=<code>&redirecturl=<url>."""

from __future__ import annotations

from typing import Any

from ... import kit
from .consent import STATES, SYSTEMS
from .handlers import ONE_TIME_CODES

PAGES = kit.Pages(__package__)
JOURNEY = kit.Tickets("api1:journey")
_EXPIRED = (
    "This onboarding link is invalid, expired or already used. "
    "Ask the service that sent you here for a new link."
)


def _system(system: str) -> str:
    """A deep link's accounting system, in any letter case; else the page's 404."""
    if system.lower() not in SYSTEMS:
        known = ", ".join(SYSTEMS)
        raise kit.PageRefused("Unknown accounting system", f"{system} is not one of: {known}.", 404)
    return system.lower()


def sandbox(site: kit.Site) -> None:
    @PAGES.route(site, "/consent/<consent_id>/<system>/")
    def deep_link(consent_id: str, system: str) -> Any:
        """FACTS-2 §4.2 (3p): /consent/{id}/{system}/?otc=... preselects that system."""
        return onboarding(consent_id, _system(system), "../decision")

    @PAGES.route(site, "/consent/<consent_id>/")
    def onboarding(consent_id: str, chosen: str = "testone", action: str = "decision") -> Any:
        args = site.args()
        url = PAGES.back_url(args.get("redirecturl") or "", "redirecturl")
        delay = args.get("redirectdelay") or ""
        PAGES.seconds(delay, "redirectdelay", 60, "Invalid redirect delay")  # else the 400 page
        record = PAGES.found(site.find(consent_id))
        ctx = site.context(record.tenant)
        if not ONE_TIME_CODES.take(ctx, args.get("otc") or "", consentId=consent_id):
            raise kit.PageRefused("Link expired", _EXPIRED, 403)
        PAGES.awaiting(STATES, record.data, ("CREATED",), "Already connected")
        state = {"consentId": consent_id, "redirecturl": url, "delay": delay}
        shown: dict[str, Any] = {"name": record.data.get("name") or "A service", "systems": SYSTEMS}
        shown |= {"journey": JOURNEY.issue(ctx, state), "chosen": chosen, "action": action}
        return PAGES.page(site, "api1/onboarding.html", "Connect your accounting system", **shown)

    @PAGES.route(site, "/consent/<consent_id>/decision", methods=("POST",))
    def decision(consent_id: str) -> Any:
        _, state = PAGES.resume(site, JOURNEY, consent_id, "onboarding link")
        form = site.form()
        choice = PAGES.decision(form, "Choose Connect or Cancel.")
        system = form.get("system") or "testone"
        params = {"consentId": consent_id, "status": "rejected"}
        if choice == "approve":
            if system not in SYSTEMS:
                raise kit.PageRefused("Unknown system", f"{system} is not supported.", 400)
            with PAGES.moving("Cannot connect"):
                site.move(consent_id, "ACCEPTED", source=system)
            params = {"consentId": consent_id, "status": "accepted", "source": system}
        else:
            with PAGES.moving("Cannot cancel"):
                site.move(consent_id, "REVOKED")
        url = str(state.get("redirecturl") or "")
        if not url or not state.get("delay"):  # no page between: straight back, or the last
            return PAGES.back(site, url, params, shown=False)
        target = kit.with_params(url, params)
        return PAGES.page(site, "api1/back.html", "All done", delay=state["delay"], target=target)
