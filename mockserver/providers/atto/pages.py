"""Atto Connect: /__sandbox/atto/connect, then the bank's consent screen, then a redirect."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ... import kit
from . import consent
from .handlers import TOKENS

PAGES = kit.Pages(__package__)
JOURNEY = kit.Tickets("atto:journey")
OPEN = ("Pending", *consent.REAUTHENTICABLE)
_LINK = "Atto Connect link"


def _client_of(site: kit.Site, args: Mapping[str, str]) -> str:
    """The client whose api:consent token the launch link carries (a 401 page without one)."""
    grant = TOKENS.grant(site.context(""), args.get("access_token") or "")
    if grant is None:
        message = "access_token is missing, unknown or expired: get a new api:consent token."
        raise kit.PageRefused("Link expired", message, 401)
    return str(grant["tenant"])


def _start_page(site: kit.Site, args: Mapping[str, str], redirect_url: str) -> Any:
    """GET /connect?client_id=&customer_ref=&access_token=[&config_id][&provider_id]
    [&redirect_url]: only the client holding a live token of its own can start a journey."""
    client_id, customer_ref = (args.get("client_id") or "").strip(), args.get("customer_ref") or ""
    chosen = args.get("provider_id") or str(consent.DEFAULT_PROVIDER)
    if not client_id:
        raise kit.PageRefused("Missing client", "client_id is required.", 400)
    if not customer_ref.strip() or len(customer_ref) > 255:
        message = "customer_ref is required (1 to 255 characters)."
        raise kit.PageRefused("Missing customer reference", message, 400)
    if not chosen.isdigit() or int(chosen) not in consent.PROVIDERS:
        known = ", ".join(f"{pid} ({name})" for pid, name in consent.PROVIDERS.items())
        raise kit.PageRefused("Unknown bank", f"provider_id must be one of {known}.", 400)
    if _client_of(site, args) != client_id:
        message = "access_token was issued to another client_id than this link names."
        raise kit.PageRefused("Wrong client", message, 403)
    ctx = site.context("")
    state = {"step": "bank", "clientId": client_id, "customerRef": customer_ref}
    state |= {"configurationName": args.get("config_id") or consent.DEFAULT_CONFIGURATION}
    key = JOURNEY.issue(ctx, {**state, "redirectUrl": redirect_url})
    action = f"{ctx.sandbox_url}/connect/start"
    values: dict[str, Any] = {"client": client_id, "action": action, "key": key}
    return PAGES.page(
        site,
        "atto/start.html",
        "Connect your bank",
        banks=consent.PROVIDERS,
        chosen=int(chosen),
        **values,
    )


def _reauth_entry(site: kit.Site, args: Mapping[str, str], redirect_url: str) -> Any:
    """GET /connect?consent_id=&access_token=: continue a Pending or re-authenticate a consent."""
    consent_id, ctx = args.get("consent_id") or "", site.context("")
    client_id = _client_of(site, args)
    record = site.find(consent_id)
    record = PAGES.found(record if record and record.tenant == client_id else None)
    says = "This consent is {status}; only a Pending, Expired or Revoked consent can go "
    PAGES.awaiting(
        consent.STATES, record.data, OPEN, "Nothing to do", says + "through Atto Connect."
    )
    key = JOURNEY.issue(
        ctx, {"step": "decide", "consentId": consent_id, "redirectUrl": redirect_url}
    )
    return site.redirect_to(f"{ctx.sandbox_url}/connect/{consent_id}", {"journey": key})


def _decision_page(site: kit.Site, record: kit.Record, key: str) -> Any:
    data, span = record.data, consent.lifetime(record.data)
    reauth = consent.STATES.status_of(data) in consent.REAUTHENTICABLE
    return PAGES.page(
        site,
        "atto/decide.html",
        "Re-authenticate your bank" if reauth else "Share your bank data",
        reauth=reauth,
        data=data,
        client=record.tenant,
        span="no end date" if span is None else f"{span.days} days",
        errors=consent.CONNECT_ERRORS,
        action=f"{site.context('').sandbox_url}/connect/{record.id}/decision",
        key=key,
    )


def _outcome(data: kit.JsonDict, state: str, **extra: str) -> dict[str, str]:
    """Atto's redirect parameters: customer_ref, state, then consent_id or error."""
    reference = data.get("customerReference")
    params = {} if reference is None else {"customer_ref": str(reference)}
    return {**params, "state": state, **extra}


def _decide(site: kit.Site, record: kit.Record, choice: str, error: str) -> dict[str, str]:
    """Apply the user's choice; a refused re-authentication leaves the consent as it was."""
    reauth = consent.STATES.status_of(record.data) in consent.REAUTHENTICABLE
    if choice == "approve":
        moved = site.move(record.id, "Active")
        return _outcome((moved or record).data, "success", consent_id=record.id)
    if choice == "cancel":
        if not reauth:
            site.move(record.id, "Abandoned")
        text = "The customer cancelled the Atto Connect journey."
        return _outcome(record.data, "error", error=consent.CANCELLED, error_description=text)
    if not reauth:
        site.move(record.id, "Failed", error=error)
    return _outcome(
        record.data, "error", error=error, error_description=consent.CONNECT_ERRORS[error]
    )


def sandbox(site: kit.Site) -> None:
    @PAGES.route(site, "/connect")
    def connect() -> Any:
        args = site.args()
        redirect_url = PAGES.back_url(args.get("redirect_url") or "", "redirect_url")
        if "consent_id" in args:
            return _reauth_entry(site, args, redirect_url)
        return _start_page(site, args, redirect_url)

    @PAGES.route(site, "/connect/start", methods=("POST",))
    def start() -> Any:
        form = site.form()
        chosen = form.get("provider") or ""
        if not chosen.isdigit() or int(chosen) not in consent.PROVIDERS:
            raise kit.PageRefused("Unknown bank", "Choose one of the banks listed.", 400)
        state = PAGES.ticket(
            JOURNEY.take(site.context(""), form.get("journey", ""), step="bank"), _LINK
        )
        ctx = site.context(str(state["clientId"]))
        consent_id = str(uuid.uuid4())
        data = consent.new_consent(
            ctx,
            consent_id,
            customer_ref=str(state["customerRef"]),
            configuration=str(state["configurationName"]),
            provider_id=int(chosen),
        )
        ctx.insert(consent_id, data)
        next_step = {"step": "decide", "consentId": consent_id, "redirectUrl": state["redirectUrl"]}
        key = JOURNEY.issue(site.context(""), next_step)
        return site.redirect_to(f"{ctx.sandbox_url}/connect/{consent_id}", {"journey": key})

    @PAGES.route(site, "/connect/<consent_id>")
    def consent_screen(consent_id: str) -> Any:
        key = site.args().get("journey", "")
        state = JOURNEY.peek(site.context(""), key)
        PAGES.ticket(state and state.get("consentId") == consent_id, _LINK)
        record = PAGES.found(site.find(consent_id))
        PAGES.awaiting(consent.STATES, record.data, OPEN, "Already done")
        return _decision_page(site, record, key)

    @PAGES.route(site, "/connect/<consent_id>/decision", methods=("POST",))
    def decision(consent_id: str) -> Any:
        form = site.form()
        choice, error = form.get("decision", ""), form.get("error") or "access_denied"
        if choice not in ("approve", "cancel", "fail") or error not in consent.CONNECT_ERRORS:
            raise kit.PageRefused("Unknown decision", "Choose Approve, Cancel or Fail.", 400)
        _, state = PAGES.resume(site, JOURNEY, consent_id, _LINK, tenant="")
        record = PAGES.found(site.find(consent_id))
        with PAGES.moving("Cannot continue"):
            params = _decide(site, record, choice, error)
        return PAGES.back(site, str(state.get("redirectUrl") or ""), params)
