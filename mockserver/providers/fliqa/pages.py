"""The sandbox bank page: the `redirect` item of consentData."""

from __future__ import annotations

from typing import Any

from ... import kit
from .consent import BANKS, STATES, render

PAGES = kit.Pages(__package__)
# The page's form state, one per opening: at most 1000 kept per Api-Key.
JOURNEY = kit.Tickets("fliqa:journey", per_tenant=1000)
_TARGETS = {"approve": "valid", "reject": "rejected", "error": "failed"}


def _check_open(data: kit.JsonDict) -> None:
    """Open until decided (a consent owing an item has no bank key: `_keyed` refused it)."""
    says = "This consent is already {status}."
    PAGES.awaiting(STATES, data, ("initiated", "started", "received"), "Bank step not open", says)


def _rows(data: kit.JsonDict) -> list[tuple[str, Any]]:
    # Every consent has a sandbox bank, a country and an owner (msisdn, then e-mail, if given).
    rows = [("Bank", BANKS[data["providerId"]]["title"]), ("Country", data["country"])]
    rows += [("Access", data["scope"]), ("Owner", " · ".join(data["owner"].values()))]
    rows += [("Valid until", data["validUntil"])]
    items = render(data)["consentData"]
    return rows + [(i["label"], i["value"]) for i in items if i["name"] != "redirect"]


def _keyed(site: kit.Site, consent_id: str, key: str) -> kit.Record:
    """The consent, if `key` is the bank key its API answers carry in the `redirect` item (the
    consent id alone, e.g. another tenant's, opens nothing); else a 403 page."""
    record = PAGES.found(site.find(consent_id))
    if not key or not kit.same_secret(record.data.get("_bankKey", ""), key):
        message = "Open the bank page from the consent's redirect link (consentData)."
        raise kit.PageRefused("Invalid bank link", message, 403)
    return record


def sandbox(site: kit.Site) -> None:
    """/__sandbox/fliqa/bank/<consentId>/<bankKey>[?redirectUrl=<url>]: approve, reject or fail."""

    @PAGES.route(site, "/bank/<consent_id>")
    def unkeyed(consent_id: str) -> Any:
        return _keyed(site, consent_id, "")

    @PAGES.route(site, "/bank/<consent_id>/<key>")
    def bank(consent_id: str, key: str) -> Any:
        redirect_url = PAGES.back_url(site.args().get("redirectUrl") or "", "redirectUrl")
        record = _keyed(site, consent_id, key)
        _check_open(record.data)
        state = {"consentId": consent_id, "redirectUrl": redirect_url}
        journey = JOURNEY.issue(site.context(record.tenant), state)
        return PAGES.page(
            site,
            "fliqa/bank.html",
            "Approve account access",
            data=record.data,
            rows=_rows(record.data),
            journey=journey,
            key=key,
        )

    @PAGES.route(site, "/bank/<consent_id>/<key>/decision", methods=("POST",))
    def decision(consent_id: str, key: str) -> Any:
        record = _keyed(site, consent_id, key)
        _, state = PAGES.resume(site, JOURNEY, consent_id, "bank page", record.tenant)
        choice = PAGES.decision(site.form(), "Choose Approve, Reject or Bank error.", _TARGETS)
        target = _TARGETS[choice]
        _check_open(record.data)
        with PAGES.moving("Cannot change the consent"):
            for step in STATES.path_to(STATES.status_of(record.data), target):
                site.move(consent_id, step)
        url = str(state.get("redirectUrl") or "")
        if url:
            return site.redirect_to(url, {"consentId": consent_id, "status": target})
        return PAGES.page(site, "fliqa/done.html", "All done", target=target)
