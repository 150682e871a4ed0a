"""Yapily's webhooks through its own API (/webhook/...): categories, registration, listing,
deletion, secret reset; consent events, their envelope and signature."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import timedelta

from ... import kit
from . import consent
from .dialect import ok, refused
from .handlers import handlers

MAX_HOOKS = 10  # documented: "up to 10 webhooks" per application, then 406
MAX_METADATA = 10 * 1024  # documented: metadata under 10 kB
SIGNATURE = "X-Yapily-Signature"  # not Yapily's own documentation: third-party clients read it
# Yapily documents payment and categorisation categories; the simulator has no payments, so
# those are accepted and never sent. Consent categories are the simulator's own (none is
# documented): one per status a consent reaches, and one for its creation.
CATEGORIES = {
    "consent.created": "A consent was created (simulator choice).",
    **{
        f"consent.status.{status.lower()}": f"A consent became {status} (simulator choice)."
        for status in consent.STATES.statuses
    },
    "payment.state.success": "A payment succeeded (documented; the simulator sends none).",
    "payment.state.failed": "A payment failed (documented; the simulator sends none).",
}
_HIDDEN = kit.without("consentToken")  # a credential: the receiver reads it with GET if need be


def _metadata() -> kit.JsonDict:
    """These operations' envelope is `metadata`, not `meta` (documented)."""
    return {"tracingId": uuid.uuid4().hex}


# -- the events, their envelope and signature ---------------------------------------------------


def _payload(data: kit.JsonDict, previous: str | None) -> kit.JsonDict:
    return _HIDDEN(consent.render(data)) | ({"previousStatus": previous} if previous else {})


# Yapily keeps every consent: nothing is purged, so no event says so.
events = kit.status_events("consent.created", lambda to: f"consent.status.{to.lower()}", _payload)


def envelope(event: kit.Event, hook: kit.Hook) -> kit.JsonDict:
    """Documented: `{id: <webhook id>, applicationId, type, event: {..., metadata}, metadata}`."""
    own = hook.metadata.get("metadata") or {}
    return {
        "id": hook.id,
        "applicationId": hook.metadata.get("applicationId"),
        "type": event.type,
        "event": {**event.payload, "metadata": own},
        "metadata": _metadata(),
    }


# Signed `sha256=<hex HMAC-SHA256(secret, rawBody)>`; during a reset's delay the old secret
# still signs (the reset's `delay` is when the new one takes over).
webhooks = kit.WebhookDef(events, kit.body_signer(SIGNATURE, "sha256="), envelope=envelope)


# -- the API ------------------------------------------------------------------------------------


def _shown(hook: kit.Hook, secret: str | None = None) -> kit.JsonDict:
    callback: kit.JsonDict = {"main": {"url": hook.url}}
    if hook.backup_url:
        callback["backup"] = {"url": hook.backup_url}
    shown = {"id": hook.id, "applicationId": hook.metadata.get("applicationId")}
    shown |= {"categories": list(hook.events or ()), "callbackUrl": callback}
    shown |= {"metadata": hook.metadata.get("metadata") or {}, "status": "active"}
    return shown | ({"webhookSecret": secret} if secret else {})


@handlers
def get_webhook_events_categories(ctx: kit.Context) -> kit.Reply:
    listed = [{"name": name, "description": text} for name, text in CATEGORIES.items()]
    return ok(200, {"metadata": _metadata(), "data": {"categories": listed}})


@handlers
def register_webhook(ctx: kit.Context) -> kit.Reply:
    """The spec's enum and URL pattern have refused an unknown category and a URL that is not
    absolute http(s) or has a query; the size of `metadata` and the application are left."""
    body: kit.JsonDict = ctx.body
    code = "INVALID_PROPERTY_UNEXPECTED_VALUE"
    if len(json.dumps(body.get("metadata") or {}).encode()) >= MAX_METADATA:
        message = "metadata must be smaller than 10 kB"
        raise refused(400, "invalid_request", message, code, "$.metadata")
    try:  # an Application ID that is a uuid must be the one named (the default app's is not)
        mismatch = str(uuid.UUID(ctx.tenant)) != body["applicationId"].lower()
    except ValueError:
        mismatch = False
    if mismatch:
        message = "applicationId must be the authenticated application"
        raise refused(400, "invalid_request", message, code, "$.applicationId")
    hooks = kit.TenantHooks(ctx)
    if len(hooks.all()) >= MAX_HOOKS:
        message = f"Maximum number of webhooks ({MAX_HOOKS}) reached for this application"
        raise refused(406, "not_acceptable", message, "MAXIMUM_WEBHOOKS_REACHED")
    secret = secrets.token_hex(32)
    hook = hooks.add(
        body["callbackUrl"]["main"]["url"],
        secret,
        backup_url=(body["callbackUrl"].get("backup") or {}).get("url"),
        events=tuple(dict.fromkeys(body["categories"])),
        metadata={"applicationId": body["applicationId"], "metadata": body.get("metadata") or {}},
    )
    return ok(201, {"metadata": _metadata(), "data": _shown(hook, secret)})


@handlers
def get_registered_webhooks(ctx: kit.Context) -> kit.Reply:
    active = [_shown(hook) for hook in kit.TenantHooks(ctx).all()]
    return ok(200, {"metadata": _metadata(), "data": {"active": active}})


def _missing(hook_id: str) -> kit.ApiError:
    return refused(404, "not_found", f"Webhook {hook_id} not found", "NOT_FOUND", "webhook_id")


@handlers
def delete_webhook(ctx: kit.Context) -> kit.Reply:
    hook_id = str(ctx.path["webhook_id"])
    removed = kit.TenantHooks(ctx).remove(hook_id)
    if removed is None:
        raise _missing(hook_id)
    return ok(200, {"metadata": _metadata(), "data": _shown(removed)})


@handlers
def webhook_secret_reset(ctx: kit.Context) -> kit.Reply:
    hook_id, secret = str(ctx.path["webhook_id"]), secrets.token_hex(32)
    delay = timedelta(seconds=float(ctx.body["delay"]))
    rotated = kit.TenantHooks(ctx).rotate(hook_id, secret, delay)
    if rotated is None:
        raise _missing(hook_id)
    return ok(201, {"metadata": _metadata(), "data": _shown(rotated, secret)})
