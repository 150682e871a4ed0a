"""The bank's authorisation page (/__sandbox/yapily/authorise/<consentId>?state=...) and the
callback or redirect the browser is sent to after the user's decision."""

from __future__ import annotations

import uuid
from typing import Any

from ... import kit
from .consent import PAGE_ACCESS, STATES, sign_token
from .handlers import CODES, ONE_TIME_TOKENS

PAGES = kit.Pages(__package__, ("Authorisation not found", "This request does not exist."))
JOURNEY = kit.Tickets("yapily:journey")
# The sandbox institutions' names, as the spec states them (institutionId's x-sandbox-institutions).
_REQUEST = kit.spec_schema("yapily.yaml", "AccountAuthorisationRequest")
INSTITUTIONS: dict[str, str] = _REQUEST["properties"]["institutionId"]["x-sandbox-institutions"]
_REJECTED = "The user rejected the authorisation request"
ANSWERABLE = [status for status, to in STATES.transitions.items() if "AUTHORIZED" in to]


def callback_params(
    ctx: kit.Context, data: kit.JsonDict, approved: bool
) -> tuple[str, dict[str, str]]:
    """Where the browser goes after the decision, and with which query parameters."""
    callback, redirect, state = data.get("_callback"), data.get("_redirectUrl"), data["state"]
    if not callback:  # the redirect URL gets a code to exchange, or the refusal
        if redirect and not approved:
            refusal = {"error": "access_denied", "error_description": _REJECTED, "state": state}
            return redirect, refusal
        if redirect:
            code = CODES.grant(ctx, data["id"], str(uuid.uuid4()), state=state)
            return redirect, {"code": code, "state": state}
        return "", {}
    user = {
        "application-user-id": data.get("applicationUserId") or "",
        "user-uuid": data.get("userUuid") or "",
        "institution": data.get("institutionId") or "",
    }
    user = {k: v for k, v in user.items() if v}
    params: dict[str, str]
    if not approved:
        refused = {"error": "access_denied", "error-source": "user", "error-description": _REJECTED}
        params = {**refused, **user}
    elif data.get("_oneTimeToken"):
        ott = sign_token({"INSTITUTION": data.get("institutionId"), "UUID": str(uuid.uuid4())})
        params = {"one-time-token": ONE_TIME_TOKENS.grant(ctx, data["id"], ott)}
    else:
        params = {"consent": data["consentToken"], **user}
    for item in data.get("_forwardParameters") or ():  # forwarded too; ours win a name clash
        name, _, value = str(item).partition("=")
        params.setdefault(name, value)
    return callback, params


def _bank(data: kit.JsonDict) -> str:
    institution = str(data.get("institutionId") or "")
    return INSTITUTIONS.get(institution, institution)


def _opened(site: kit.Site, consent_id: str, *, state: bool) -> tuple[kit.Record, str]:
    """The consent a link opens, and its access key: the key must be one the API handed to
    this consent's application for this consent (and the `state` must match, if asked)."""
    record = PAGES.found(site.find(consent_id))
    key = site.args().get("access", "")
    if PAGE_ACCESS.names(site.context(record.tenant), key) != consent_id or (
        state and not kit.same_secret(site.args().get("state", ""), record.data["state"])
    ):
        message = "This authorisation link is invalid: open the URL the API answered."
        raise kit.PageRefused("Link invalid", message, 403)
    return record, key


def sandbox(site: kit.Site) -> None:
    @PAGES.route(site, "/authorise/<consent_id>")
    def authorise(consent_id: str) -> Any:
        record, _ = _opened(site, consent_id, state=True)
        data = record.data
        PAGES.awaiting(STATES, data, ANSWERABLE, "Already answered", "This request is {status}.")
        return PAGES.page(
            site,
            "yapily/authorise.html",
            "Authorise account access",
            bank=_bank(data),
            institution=data.get("institutionId"),
            user=data.get("applicationUserId") or data.get("userUuid"),
            consent=consent_id,
            features=[f.replace("_", " ").lower() for f in data.get("featureScope") or ()],
            journey=JOURNEY.issue(site.context(record.tenant), consent_id),
        )

    @PAGES.route(site, "/authorise/<consent_id>/decision", methods=("POST",))
    def decide(consent_id: str) -> Any:
        ctx = site.context(PAGES.found(site.find(consent_id)).tenant)
        journey = JOURNEY.take(ctx, site.form().get("journey", ""))  # spent even if not this one's
        PAGES.ticket(journey == consent_id, "authorisation link")
        approved = PAGES.decision(site.form(), "Choose Approve or Reject.") == "approve"
        with PAGES.moving("Cannot answer"):
            moved = site.move(consent_id, "AUTHORIZED" if approved else "REJECTED")
        url, params = callback_params(ctx, PAGES.found(moved).data, approved)
        lead = f"Access {'authorised' if approved else 'rejected'}. You can close this window."
        return PAGES.back(site, url, params, lead, shown=False)

    @PAGES.route(site, "/qr/<consent_id>")
    def qr_code(consent_id: str) -> Any:
        record, access = _opened(site, consent_id, state=False)
        link = f"../authorise/{consent_id}?state={record.data['state']}&access={access}"
        heading = "Authorise on another device"
        return PAGES.page(site, "yapily/qr.html", heading, link=link, bank=_bank(record.data))
