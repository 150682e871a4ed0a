"""Fliqa's operations: tokens, OTP login, consents and their data, the cursor-paged list."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import Any

from ... import kit
from . import consent, dialect, inquiry

# tenant|recipient → {otp, keys}; a recipient ever sent an OTP is known for good.
OTPS = kit.OneTimeCodes("fliqa:otp", timedelta(seconds=300), known="fliqa:known", length=6)
OUTBOX = kit.Outbox("fliqa:outbox", capacity=1000)  # then {"_deleted": [ids]} per filtered DELETE
# A list cursor lives an hour of the tenant's clock; a tenant holds at most CURSORS_PER_KEY
# (a new one retires the oldest), so paging in a loop cannot grow the store.
CURSORS_PER_KEY = 1000
CURSORS = kit.Tickets("fliqa:cursor", timedelta(hours=1), per_tenant=CURSORS_PER_KEY)
# The OTP message's text in each language the simulator speaks, as the spec's `locale` says.
OTP_TEXTS: dict[str, str] = kit.spec_parameter("fliqa.yaml", "Locale")["x-otp-texts"]

handlers = kit.Handlers()


@handlers
def get_token(ctx: kit.Context) -> kit.Reply:
    environment, slug = ctx.path["environment"], ctx.path["tenantSlug"]
    secret = str(ctx.credentials["ApiSecret"])
    first = {"environment": environment, "tenantSlug": slug, "scope": dialect.DEFAULT_TOKEN_SCOPE}
    bound = dialect.KEYS.claim(ctx, ctx.tenant, secret, **first)
    if bound is None:
        raise dialect.refused("not_authorized")
    if (bound["environment"], bound["tenantSlug"]) != (environment, slug):
        raise dialect.refused("access_not_allowed", environment=environment, tenantSlug=slug)
    token, expires = dialect.TOKENS.issue(ctx, scope=bound["scope"])
    body: kit.JsonDict = {"accessToken": token, "expires": kit.format_instant(expires)}
    body |= {"expiresIn": dialect.TOKENS.seconds, "scope": bound["scope"]}
    return kit.Reply(200, body)


def _language(ctx: kit.Context) -> str:
    """The `locale` query parameter (FACTS-2 §2.2), when the simulator speaks it; else `en`."""
    wanted = str(ctx.query.get("locale", "")).strip().lower()
    return wanted if wanted in OTP_TEXTS else "en"


@handlers
def login(ctx: kit.Context) -> kit.Reply:
    msisdn, email = dialect.contact(ctx.body)
    otp, expires = OTPS.send(ctx, dialect.recipients(ctx.tenant, msisdn, email))
    language = _language(ctx)
    for channel, to in (("sms", msisdn), ("email", email)):
        if to:  # one message each
            text = OTP_TEXTS[language].format(otp=otp)
            sent = {"channel": channel, "to": to, "otp": otp, "text": text, "language": language}
            OUTBOX.send(ctx, sent, expires)
    return kit.Reply(200, {"otpLength": OTPS.length})


@handlers
def create_consent(ctx: kit.Context) -> kit.Reply:
    body: kit.JsonDict = ctx.body
    provider, otp = body["providerId"].strip(), body["otp"].strip()
    if not provider or not otp:
        raise dialect.fail(
            400, "invalid_parameter", f"Missing consent '{'otp' if provider else 'provider'}'!"
        )
    msisdn, email = dialect.contact(body)
    if provider not in consent.BANKS:
        raise dialect.fail(400, "invalid_parameter", f"Unknown consent provider '{provider}'")
    keys = dialect.recipients(ctx.tenant, msisdn, email)
    if not OTPS.sent_to(ctx, keys):
        raise dialect.refused("phone_or_email_not_registered")
    if not OTPS.use(ctx, keys, otp):  # the latest live OTP of the phone or the e-mail, once
        raise dialect.refused("invalid_pin")
    consent_id = uuid.uuid4().hex
    data = consent.new_consent(ctx, consent_id, provider, dialect.owner(msisdn, email), ctx.now)
    data.update(data=copy.deepcopy(body.get("data", [])), locale=_language(ctx))
    record = ctx.insert(consent_id, data)
    shown = consent.render(record.data, sandbox_url=ctx.sandbox_url)
    return kit.Reply(201, shown, location=f"/service/consent/{consent_id}")


def not_found(consent_id: str) -> kit.ApiError:
    return dialect.fail(404, "not_found", f"Consent '{consent_id}' not found", resource=consent_id)


@handlers
def add_consent_data(ctx: kit.Context) -> kit.Reply:
    record = kit.owned(ctx, not_found)
    supplied: list[kit.JsonDict] = ctx.body
    stamp = kit.format_instant(ctx.now)

    def change(data: kit.JsonDict) -> kit.JsonDict:
        _check_items(data, supplied)
        consent.fill(data, {item["name"]: item["value"] for item in supplied})
        data.update(status="started", modified=stamp)
        if not consent.pending(data):
            data["status"] = "received"
            consent.open_bank_step(data)
        return data

    if supplied:
        record = ctx.update(record, change)
    else:
        _check_items(record.data, supplied)
    return kit.Reply(200, consent.render(record.data, sandbox_url=ctx.sandbox_url))


def _check_items(data: kit.JsonDict, supplied: list[kit.JsonDict]) -> None:
    consent_id = data["consentId"]
    if data["status"] not in ("initiated", "started"):
        message = f"Consent '{consent_id}' is '{data['status']}' and accepts no more data"
        raise dialect.fail(400, "not_allowed", message, resource=consent_id)
    owed = set(consent.pending(data))
    for item in supplied:
        name, value = item["name"], item["value"]
        problem = None
        if name not in owed:
            problem = f"Consent data '{name}' is not requested by consent '{consent_id}'"
        elif not value.strip():
            problem = f"Consent data '{name}' needs a value"
        elif name == "iban" and not kit.iban_ok(value):
            problem = f"'{value}' is not a valid IBAN"
        elif name == "select" and value not in consent.CHOICES:
            problem = f"'{value}' is not one of the choices of 'select'"
        if problem:
            raise dialect.fail(400, "invalid_parameter", problem, resource=consent_id)
        owed.discard(name)


@handlers
def get_consent(ctx: kit.Context) -> kit.Reply:
    return kit.Reply(200, consent.render(kit.owned(ctx, not_found).data, items=False))


@handlers
def list_consents(ctx: kit.Context) -> kit.Reply:
    query = ctx.query
    if "inquiryId" in query and inquiry.find(ctx, str(query["inquiryId"])) is None:
        raise dialect.fail(404, "not_found", f"Inquiry '{query['inquiryId']}' not found")
    limit, status = int(query["limit"]), query.get("status")
    cursor = str(query.get("cursor") or "")  # an empty cursor is the first page
    paged = _filters(query).after(
        ctx, CURSORS, cursor, consent.order_key, status=status, limit=limit
    )
    if paged is None:
        raise dialect.fail(400, "invalid_parameter", f"Invalid cursor '{cursor}'")
    page, total, following = paged
    body = {"data": [consent.render(r.data, items=False) for r in page]}
    meta = {"next_cursor": following, "total": total, "limit": limit}
    return kit.Reply(200, {**body, "metadata": meta})


def _filters(query: kit.JsonDict) -> kit.Filters:
    """The filters besides status (which the store's index serves)."""
    key, value = query.get("dataKey"), query.get("dataValue")

    def entry(d: kit.JsonDict, _: Any) -> bool:
        """dataKey and dataValue name one entry of the consent's data, together."""
        return any(
            (key is None or e.get("key") == key) and (value is None or e.get("value") == value)
            for e in d.get("data", [])
        )

    return kit.Filters(  # every consent has an owner (new_consent's, checked by admin_create)
        {
            "inquiryId": kit.equal("inquiryId"),
            "msisdn": lambda d, v: d["owner"].get("msisdn") == v,
            "msidsn": lambda d, v: d["owner"].get("msisdn") == v,
            "email": lambda d, v: str(d["owner"].get("email", "")).casefold() == v.casefold(),
            "validFrom": kit.since("created"),
            "validUntil": kit.until("validUntil"),
            "providerName": kit.equal("providerId"),
            "country": lambda d, v: str(d.get("country", "")).upper() == v.upper(),
            "scope": kit.equal("scope"),
            "dataKey": entry,
            "dataValue": entry,
        }
    )


@handlers
def get_consent_inquiry(ctx: kit.Context) -> kit.Reply:
    inquiry_id = str(ctx.path["inquiryId"])
    found = inquiry.find(ctx, inquiry_id)
    if found is None:
        message = f"Unknown consent inquiry '{inquiry_id}'"
        raise dialect.fail(400, "invalid_parameter", message, resource=inquiry_id)
    bound = dialect.KEYS.entry(ctx, ctx.tenant) or {}
    return kit.Reply(200, inquiry.shown(ctx, found, str(bound.get("tenantSlug", ""))))
