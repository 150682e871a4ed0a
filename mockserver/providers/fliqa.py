"""Fliqa account information: Api-Key/Secret tokens, OTP login, consent data, the bank page."""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import re
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Response, jsonify
from markupsafe import Markup

from ..behaviour import (
    AdminCreated,
    ApiError,
    Context,
    ErrorScope,
    Handlers,
    ProviderDef,
    Reply,
    sort_stamp,
)
from ..clock import format_instant, parse_instant
from ..lifecycle import TransitionRefused
from ..sandbox import Kit, is_http_url
from ..store import Record
from ..validation import Violation

JsonDict = dict[str, Any]

NAME = "fliqa"
STATUSES = (
    "initiated",
    "started",
    "received",
    "rejected",
    "partially_authorised",
    "valid",
    "revoked_by_psu",
    "expired",
    "terminated_by_tpp",
    "failed",
)
SCOPES = ("all", "accounts", "balances", "transactions")
TOKEN_SCOPES = ("account_owner", "account_info", "account_transactions", "payments", "risk_scoring")
DEFAULT_TOKEN_SCOPE = ("account_owner", "account_info")
ENVIRONMENTS = ("production", "sandbox")
LANGUAGES = ("en", "de", "sl")
TOKEN_LIFETIME = timedelta(seconds=360)
OTP_LIFETIME = timedelta(seconds=300)
OTP_LENGTH = 6
VALIDITY = timedelta(days=90)
JOURNEY_LIFETIME = timedelta(hours=1)
CURSOR_LIFETIME = timedelta(days=1)
OUTBOX_CAPACITY = 1000
KEY_NS = "fliqa:key"  # Api-Key → {secret, environment, tenantSlug, scope}
TOKEN_NS = "fliqa:token"  # access token → {tenant, expires, offsetSeconds, scope}
OTP_NS = "fliqa:otp"  # tenant|recipient → {otp, keys}
KNOWN_NS = "fliqa:known"  # tenant|recipient → True once an OTP was ever sent
OUTBOX_FEED = "fliqa:outbox"  # the messages, then {"_deleted": [ids]} for each filtered DELETE
CURSOR_NS = "fliqa:cursor"
JOURNEY_NS = "fliqa:journey"
DOCS = "https://documentation.fliqa.io/api/errors"
MASKED = "********"
SECRET_ITEMS = frozenset({"password", "otp"})
PUBLIC_FIELDS = (
    "inquiryId",
    "consentId",
    "status",
    "created",
    "modified",
    "scope",
    "validUntil",
    "consentData",
    "providerId",
    "name",
    "description",
    "owner",
    "country",
    "data",
    "locale",
)


@dataclass(frozen=True, slots=True)
class Bank:
    """A sandbox account information provider: its country and the data it asks the user for."""

    title: str
    country: str
    items: tuple[str, ...]
    iban: str


BANKS = {
    "sandbox-bank-at": Bank("Sandbox Bank Austria", "AT", ("iban",), "AT611904300234573201"),
    "sandbox-bank-de": Bank(
        "Sandbox Bank Germany", "DE", ("iban", "select"), "DE89370400440532013000"
    ),
    "sandbox-bank-si": Bank(
        "Sandbox Bank Slovenia", "SI", ("username", "password", "otp"), "SI56263300012039086"
    ),
    "sandbox-bank-ro": Bank("Sandbox Bank Romania", "RO", (), "RO49AAAA1B31007593840000"),
}
DEFAULT_BANK = "sandbox-bank-at"
ITEMS: dict[str, JsonDict] = {
    "iban": {"label": "IBAN", "description": "The IBAN of the account to share."},
    "username": {"label": "User name", "description": "Your online banking user name."},
    "password": {"label": "Password", "description": "Your online banking password."},
    "otp": {"label": "One-time password", "description": "The code your bank sent you."},
    "select": {
        "label": "Accounts to share",
        "description": "Which of your accounts the consent covers.",
        "properties": [
            {"value": "current", "label": "Current accounts"},
            {"value": "savings", "label": "Savings accounts"},
            {"value": "all", "label": "All accounts"},
        ],
    },
}
SANDBOX_VALUES = {"username": "tester", "password": "sandbox", "otp": "123456", "select": "all"}
OTP_TEXTS = {
    "en": "Your Fliqa verification code is {otp}. It is valid for 5 minutes.",
    "de": "Ihr Fliqa-Bestätigungscode lautet {otp}. Er ist 5 Minuten gültig.",
    "sl": "Vaša potrditvena koda Fliqa je {otp}. Veljavna je 5 minut.",
}

handlers = Handlers()


# -- the consent and its lifecycle ----------------------------------------------------------------
def render(data: JsonDict) -> JsonDict:
    """The consent as Fliqa shows it on create and add-data: secret item values masked."""
    shown = {key: copy.deepcopy(data[key]) for key in PUBLIC_FIELDS if key in data}
    for item in shown.get("consentData", []):
        if item["name"] in SECRET_ITEMS and "value" in item:
            item["value"] = MASKED
    return shown


def status_of(data: JsonDict) -> str:
    return str(data["status"])


def parse_status(value: Any) -> str | None:
    text = str(value).strip().lower()
    return text if text in STATUSES else None


def lifecycle(data: JsonDict, now: datetime) -> JsonDict | None:
    """A valid consent is expired once the clock reaches its validUntil."""
    if data["status"] != "valid" or now < parse_instant(data["validUntil"]):
        return data
    return {**data, "status": "expired", "modified": data["validUntil"]}


def deadline(data: JsonDict) -> datetime | None:
    """A valid consent expires at its validUntil; nothing else changes on its own."""
    return parse_instant(data["validUntil"]) if data["status"] == "valid" else None


TRANSITIONS: dict[str, tuple[str, ...]] = {
    "initiated": ("started", "rejected", "failed"),
    "started": ("received", "rejected", "failed"),
    "received": ("valid", "partially_authorised", "rejected", "failed"),
    "partially_authorised": ("valid", "rejected", "failed"),
    "valid": ("expired", "revoked_by_psu", "terminated_by_tpp"),
    "rejected": (),
    "revoked_by_psu": (),
    "expired": (),
    "terminated_by_tpp": (),
    "failed": (),
}


def pending(data: JsonDict) -> list[str]:
    """The items the user still owes (the bank's `redirect` step excluded)."""
    return [i["name"] for i in data["consentData"] if i["name"] != "redirect" and "value" not in i]


def bank_page(data: JsonDict, sandbox_url: str | None = None) -> str:
    base = sandbox_url if sandbox_url is not None else data.get("_sandboxUrl", "")
    return f"{base}/bank/{data['consentId']}"


def open_bank_step(data: JsonDict) -> None:
    """Every item has a value: add the `redirect` item that leads to the sandbox bank page."""
    if not any(item["name"] == "redirect" for item in data["consentData"]):
        data["consentData"].append(
            {
                "name": "redirect",
                "label": "Continue at your bank",
                "description": "Open this page to approve or reject the consent at the bank.",
                "value": bank_page(data),
            }
        )


def transition(data: JsonDict, to: str, now: datetime, options: JsonDict) -> JsonDict:
    """Move a consent to a new status, filling what the status implies."""
    if options:
        raise ValueError(
            f"unknown transition options: {', '.join(sorted(options))}; fliqa takes none"
        )
    data = copy.deepcopy(data)
    bank = BANKS.get(data["providerId"], BANKS[DEFAULT_BANK])
    owed = pending(data)
    if to == "started" and len(owed) > 1:
        _fill(data, owed[:1], bank)  # the user gave the first item
    if to in ("received", "valid", "partially_authorised"):
        _fill(data, owed, bank)
        open_bank_step(data)
    if to == "expired" and parse_instant(data["validUntil"]) > now:
        data["validUntil"] = format_instant(now)
    data.update(status=to, modified=format_instant(now))
    return data


def _fill(data: JsonDict, names: Iterable[str], bank: Bank) -> None:
    wanted = set(names)
    for item in data["consentData"]:
        if item["name"] in wanted:
            item["value"] = bank.iban if item["name"] == "iban" else SANDBOX_VALUES[item["name"]]


def path_to(current: str, target: str) -> list[str]:
    """The shortest chain of allowed transitions from one status to another (empty: none)."""
    routes: dict[str, list[str]] = {current: []}
    queue = deque([current])
    while queue:
        status = queue.popleft()
        if status == target:
            return routes[status]
        for nxt in TRANSITIONS[status]:
            if nxt not in routes:
                routes[nxt] = [*routes[status], nxt]
                queue.append(nxt)
    return []


def default_inquiry(tenant: str) -> str:
    """Each tenant has one consent inquiry; its id is stable for the tenant."""
    return hashlib.sha256(f"fliqa-inquiry:{tenant}".encode()).hexdigest()[:32]


def new_consent(
    ctx: Context, consent_id: str, provider: str, owner: JsonDict, now: datetime
) -> JsonDict:
    bank = BANKS[provider]
    stamp = format_instant(now)
    data: JsonDict = {
        "inquiryId": default_inquiry(ctx.tenant),
        "consentId": consent_id,
        "status": "initiated",
        "created": stamp,
        "modified": stamp,
        "scope": "all",
        "validUntil": format_instant(now + VALIDITY),
        "consentData": [{"name": name, **copy.deepcopy(ITEMS[name])} for name in bank.items],
        "providerId": provider,
        "name": "Account ownership check",
        "description": "Account ownership confirmation",
        "owner": owner,
        "country": bank.country,
        "data": [],
        "locale": "en",
        "_sandboxUrl": ctx.sandbox_url,
    }
    if not bank.items:
        open_bank_step(data)
    return data


_ADMIN_FIELDS = (
    "consentId, status, providerId, owner, data, inquiryId, scope, name, description, country, "
    "locale, created, modified, validUntil"
)


def admin_create(ctx: Context, fields: JsonDict) -> AdminCreated:
    """A consent in any status, with the defaults a real login + create + journey would give."""
    fields = dict(fields)
    status = fields.pop("status")
    consent_id = str(fields.pop("consentId", None) or uuid.uuid4().hex)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", consent_id):
        raise ValueError(f"consentId must be 1-64 letters, digits, '_' or '-', got {consent_id!r}")
    provider = fields.pop("providerId", DEFAULT_BANK)
    if provider not in BANKS:
        raise ValueError(
            f"providerId {provider!r} is not a sandbox bank; known: {', '.join(BANKS)}"
        )
    owner = _admin_owner(fields.pop("owner", {"msisdn": "+43660123456"}))
    created = _instant(fields.pop("created", None), ctx.now, "created")
    data = new_consent(ctx, consent_id, provider, owner, created)
    data["validUntil"] = format_instant(
        _instant(fields.pop("validUntil", None), created + VALIDITY, "validUntil")
    )
    for name, check in _ADMIN_CHECKS.items():
        if name in fields:
            value = fields.pop(name)
            if not check(value):
                raise ValueError(f"{name} {value!r} is not allowed here; see the fliqa spec")
            data[name] = value
    moved = _instant(fields.pop("modified", None), created, "modified")
    if fields:
        raise ValueError(
            f"unknown consent fields: {', '.join(sorted(fields))}; allowed: {_ADMIN_FIELDS}"
        )
    for step in path_to("initiated", status):
        data = transition(data, step, moved, {})
    return AdminCreated(consent_id, data)


def _is_data_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(e, dict)
        and set(e) <= {"key", "value"}
        and all(isinstance(v, str) for v in e.values())
        for e in value
    )


_ADMIN_CHECKS: dict[str, Callable[[Any], bool]] = {
    "data": _is_data_list,
    "inquiryId": lambda v: isinstance(v, str) and bool(v),
    "scope": lambda v: v in SCOPES,
    "name": lambda v: isinstance(v, str),
    "description": lambda v: isinstance(v, str),
    "country": lambda v: isinstance(v, str) and re.fullmatch(r"[A-Z]{2}", v) is not None,
    "locale": lambda v: isinstance(v, str) and re.fullmatch(r"[a-z]{2}", v) is not None,
}


def _admin_owner(value: Any) -> JsonDict:
    if not isinstance(value, dict) or not value or set(value) - {"msisdn", "email"}:
        raise ValueError("owner must be an object with msisdn and/or email")
    try:
        msisdn, email = _contact(value)
    except ApiError as err:
        raise ValueError(f"owner: {err.message}") from None
    return _owner(value, msisdn, email)


def _instant(value: Any, default: datetime, name: str) -> datetime:
    if value is None:
        return default
    try:
        return parse_instant(str(value))
    except ValueError:
        raise ValueError(f"{name} must be an RFC 3339 date-time, got {value!r}") from None


# -- credentials and errors -----------------------------------------------------------------------
def _fail(
    status: int, code: str, message: str, sub: str | None = None, resource: str | None = None
) -> ApiError:
    extra = {k: v for k, v in (("errorSubCode", sub), ("resourceId", resource)) if v}
    return ApiError(status, code, message, code=code, extra=extra)


def _expired() -> ApiError:
    return _fail(401, "unauthorized", "Access token expired", "access_token_expired")


def identify(ctx: Context) -> str:
    """getToken: the Api-Key is the tenant. Other calls: the tenant the token was issued to."""
    if "ApiKey" in ctx.credentials:
        key, secret = str(ctx.credentials["ApiKey"]), str(ctx.credentials["ApiSecret"])
        bound = ctx.store.get_value(KEY_NS, key, ctx.now)
        if bound and not hmac.compare_digest(bound["secret"].encode(), secret.encode()):
            raise _fail(401, "unauthorized", "Not authorized", "not_authorized")
        ctx.state["globalNow"] = ctx.now
        return key
    entry = ctx.store.get_value(TOKEN_NS, str(ctx.credentials.get("BearerAuth", "")), ctx.now)
    if not entry:
        raise _expired()
    # ctx.now is the global clock here; the token's tenant offset at issue estimates its clock.
    if ctx.now + timedelta(seconds=entry["offsetSeconds"]) >= parse_instant(entry["expires"]):
        raise _expired()
    ctx.state["token"] = entry
    return str(entry["tenant"])


def _bearer(handler: Callable[[Context], Reply]) -> Callable[[Context], Reply]:
    """Re-check the token against the tenant's own clock, which identify() cannot read."""

    @functools.wraps(handler)
    def run(ctx: Context) -> Reply:
        if ctx.now >= parse_instant(ctx.state["token"]["expires"]):
            raise _expired()
        return handler(ctx)

    return run


_KIND_CODES = {
    "invalid_request": "invalid_parameter",
    "malformed_body": "bad_request",
    "unsupported_media_type": "bad_request",
    "payload_too_large": "bad_request",
    "unauthenticated": "unauthorized",
    "route_not_found": "not_found",
    "method_not_allowed": "not_allowed",
    "server_error": "other",
}
_STATUS_CODES = {400: "invalid_parameter", 401: "unauthorized", 403: "forbidden", 404: "not_found"}


def render_error(err: ApiError, scope: ErrorScope) -> Reply:
    """Fliqa's error body, for the provider's own refusals and the engine's alike."""
    code = err.code or _KIND_CODES.get(err.kind) or _STATUS_CODES.get(err.status, "other")
    sub = err.extra.get("errorSubCode")
    message = err.message
    if err.kind == "unauthenticated" and scope.operation_id == "getToken":
        sub = "api_key_secret_header_must_be_provided"
        message = "Api-Key and Api-Secret headers must be provided"
    elif err.kind == "unauthenticated":
        sub = "authorization_header_must_be_provided"
        message = "Authorization header must be provided"
    elif err.kind == "invalid_request":
        message = _invalid_message(err.violations, scope.operation_id)
    body: JsonDict = {"errorMessage": message, "errorCode": code}
    if sub:
        body["errorSubCode"] = sub
    body["documentationUrl"] = f"{DOCS}/{code}" + (f"#{sub}" if sub else "")
    body["requestId"] = scope.request_id.replace("-", "")
    if err.extra.get("resourceId"):
        body["resourceId"] = err.extra["resourceId"]
    return Reply(err.status, body, media_type="application/json")


def _invalid_message(violations: list[Violation], operation_id: str | None) -> str:
    parts: list[str] = []
    for v in violations:
        missing = re.match(r"'([^']+)' is a required property", v.message)
        if v.location == "body" and missing and v.schema_path.endswith("required"):
            field = missing.group(1)
            if operation_id == "createConsent" and not v.name:
                return f"Missing consent '{field}'!"
            parts.append(f"Missing parameter '{'/'.join(filter(None, (v.name, field)))}'")
        elif v.location == "body" and not v.name:
            parts.append(f"Invalid request body: {v.message}")
        else:
            parts.append(f"Invalid parameter '{v.name or v.location}': {v.message}")
    return "; ".join(parts) or "Invalid parameter"


# -- phone numbers, e-mail addresses, IBANs -------------------------------------------------------
_SEPARATORS = " -.()"
_EMAIL = re.compile(r"^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$")


def phone_problem(value: str) -> str | None:
    """The seed's sub-code for a malformed phone number (rules in the spec's Msisdn)."""
    if len(value) > 250:
        return "string_supplied_was_too_long_to_parse"
    if not value.startswith("+"):
        return "phone_number_start_with_plus_and_country"
    rest = value[1:]
    if any(not (c.isascii() and c.isdigit()) and c not in _SEPARATORS for c in rest):
        return "supplied_string_not_phone_number"
    digits = "".join(c for c in rest if c.isdigit())
    if not digits or digits[0] == "0":
        return "could_not_interpret_numbers_after_plus"
    if len(digits) < 5:
        return "string_supplied_too_short_to_be_phone_number"
    if len(digits) > 17:
        return "string_supplied_too_long_to_be_phone_number"
    if not 8 <= len(digits) <= 15:
        return "phone_number_invalid"
    return None


_PHONE_MESSAGES = {
    "string_supplied_was_too_long_to_parse": "The phone number is too long to parse",
    "phone_number_start_with_plus_and_country": (
        "Phone number must start with '+' and the country code"
    ),
    "supplied_string_not_phone_number": "The phone number contains characters that are not digits",
    "could_not_interpret_numbers_after_plus": "Could not interpret the numbers after '+'",
    "string_supplied_too_short_to_be_phone_number": "The phone number is too short",
    "string_supplied_too_long_to_be_phone_number": "The phone number is too long",
    "phone_number_invalid": "The phone number is not valid",
}


def iban_ok(value: str) -> bool:
    """ISO 13616: country, check digits, BBAN; the rearranged number mod 97 is 1."""
    text = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", text):
        return False
    digits = "".join(str(int(c, 36)) for c in text[4:] + text[:4])
    return int(digits) % 97 == 1


def _contact(body: JsonDict) -> tuple[str, str]:
    """The phone number and e-mail of a login or create request, validated ('' if absent)."""
    msisdn, email = str(body.get("msisdn") or ""), str(body.get("email") or "")
    if not msisdn and not email:
        raise _fail(
            401,
            "unauthorized",
            "Email or phone number is required",
            "email_or_phone_number_required",
        )
    if msisdn and (problem := phone_problem(msisdn)):
        raise _fail(400, "invalid_parameter", _PHONE_MESSAGES[problem], problem)
    if email and not _EMAIL.match(email):
        raise _fail(400, "invalid_parameter", "The e-mail address is not valid", "email_invalid")
    return msisdn, email


def _owner(body: JsonDict, msisdn: str, email: str) -> JsonDict:
    return {k: v for k, v in (("msisdn", msisdn), ("email", email)) if v}


def _recipients(tenant: str, msisdn: str, email: str) -> list[str]:
    """The OTP keys of a phone number (digits only) and an e-mail (case-folded)."""
    keys = []
    if msisdn:
        keys.append(f"{tenant}|sms:+{''.join(c for c in msisdn if c.isdigit())}")
    if email:
        keys.append(f"{tenant}|email:{email.casefold()}")
    return keys


# -- handlers ------------------------------------------------------------------------------------
@handlers
def get_token(ctx: Context) -> Reply:
    environment, slug = ctx.path["environment"], ctx.path["tenantSlug"]
    first = {
        "secret": str(ctx.credentials["ApiSecret"]),
        "environment": environment,
        "tenantSlug": slug,
        "scope": list(DEFAULT_TOKEN_SCOPE),
    }
    bound = ctx.store.claim_value(KEY_NS, ctx.tenant, first, ctx.now)
    if (bound["environment"], bound["tenantSlug"]) != (environment, slug):
        raise _fail(
            403,
            "forbidden",
            f"API key is not valid for environment '{environment}' and tenant '{slug}'",
            "access_not_allowed",
        )
    token = secrets.token_urlsafe(32)
    expires = ctx.now + TOKEN_LIFETIME
    offset = (ctx.now - ctx.state["globalNow"]).total_seconds()
    entry = {
        "tenant": ctx.tenant,
        "expires": expires.isoformat(),
        "offsetSeconds": offset,
        "scope": bound["scope"],
    }
    ctx.store.put_value(TOKEN_NS, token, entry, None)
    body = {
        "accessToken": token,
        "expires": format_instant(expires),
        "expiresIn": int(TOKEN_LIFETIME.total_seconds()),
        "scope": bound["scope"],
    }
    return Reply(200, body)


@handlers
@_bearer
def login(ctx: Context) -> Reply:
    msisdn, email = _contact(ctx.body)
    otp = "".join(secrets.choice("0123456789") for _ in range(OTP_LENGTH))
    keys = _recipients(ctx.tenant, msisdn, email)
    expires = ctx.now + OTP_LIFETIME
    for key in keys:
        ctx.store.put_value(OTP_NS, key, {"otp": otp, "keys": keys}, expires)
        ctx.store.put_value(KNOWN_NS, key, True, None)
    language = _language(ctx)
    for channel, to in (("sms", msisdn), ("email", email)):
        if to:
            message = {
                "id": uuid.uuid4().hex,
                "channel": channel,
                "to": to,
                "otp": otp,
                "text": OTP_TEXTS[language].format(otp=otp),
                "language": language,
                "sentAt": format_instant(ctx.now),
                "expiresAt": format_instant(expires),
                "_tenant": ctx.tenant,
            }
            _post(ctx, message)
    return Reply(200, {"otpLength": OTP_LENGTH})


def _language(ctx: Context) -> str:
    wanted = str(ctx.query.get("language", "")).strip().lower()
    return wanted if wanted in LANGUAGES else "en"


def _post(ctx: Context, message: JsonDict) -> None:
    """One append to the store's feed: no message is lost between workers."""
    ctx.store.feed_append(OUTBOX_FEED, message, OUTBOX_CAPACITY)


def _use_otp(ctx: Context, keys: list[str], otp: str) -> None:
    """Accept the latest live OTP of the phone or the e-mail, once; else 401."""
    if not any(ctx.store.get_value(KNOWN_NS, key, ctx.now) for key in keys):
        raise _fail(
            401,
            "unauthorized",
            "Phone number or e-mail is not registered: call login first",
            "phone_or_email_not_registered",
        )
    for key in keys:
        entry = ctx.store.get_value(OTP_NS, key, ctx.now)
        if not entry or not hmac.compare_digest(entry["otp"].encode(), otp.encode()):
            continue
        taken = ctx.store.take_value(OTP_NS, key, ctx.now)
        if taken and taken["otp"] == otp:
            for other in taken["keys"]:  # the same OTP sent to the other channel is spent too
                sibling = ctx.store.get_value(OTP_NS, other, ctx.now)
                if sibling and sibling["otp"] == otp:
                    ctx.store.delete_value(OTP_NS, other)
            return
    raise _fail(401, "unauthorized", "Invalid PIN", "invalid_pin")


@handlers
@_bearer
def create_consent(ctx: Context) -> Reply:
    body: JsonDict = ctx.body
    provider, otp = body["provider"].strip(), body["otp"].strip()
    if not provider or not otp:
        field = "provider" if not provider else "otp"
        raise _fail(400, "invalid_parameter", f"Missing consent '{field}'!")
    msisdn, email = _contact(body)
    if provider not in BANKS:
        raise _fail(400, "invalid_parameter", f"Unknown consent provider '{provider}'")
    _use_otp(ctx, _recipients(ctx.tenant, msisdn, email), otp)
    consent_id = uuid.uuid4().hex
    data = new_consent(ctx, consent_id, provider, _owner(body, msisdn, email), ctx.now)
    data.update(data=copy.deepcopy(body.get("data", [])), locale=_language(ctx))
    record = ctx.insert(consent_id, data)
    return Reply(201, _shown(ctx, record.data), location=f"/service/consent/{consent_id}")


def _shown(ctx: Context, data: JsonDict, items: bool = True) -> JsonDict:
    """The consent for an API answer: the bank page URL on this host, or no consentData."""
    shown = render(data)
    if not items:
        shown.pop("consentData", None)
    for item in shown.get("consentData", []):
        if item["name"] == "redirect":
            item["value"] = bank_page(data, ctx.sandbox_url)
    return shown


def _owned(ctx: Context) -> Record:
    consent_id = str(ctx.path["consentId"])
    record = ctx.fetch(consent_id)
    if record is None:
        raise _fail(404, "not_found", f"Consent '{consent_id}' not found", resource=consent_id)
    return record


@handlers
@_bearer
def add_consent_data(ctx: Context) -> Reply:
    record = _owned(ctx)
    supplied: list[JsonDict] = ctx.body
    stamp = format_instant(ctx.now)

    def change(data: JsonDict) -> JsonDict:
        _check_items(data, supplied)
        values = {item["name"]: item["value"] for item in supplied}
        for item in data["consentData"]:
            if item["name"] in values:
                item["value"] = values[item["name"]]
        data.update(status="started", modified=stamp)
        if not pending(data):
            data["status"] = "received"
            open_bank_step(data)
        return data

    if supplied:
        record = ctx.update(record, change)
    else:
        _check_items(record.data, supplied)
    return Reply(200, _shown(ctx, record.data))


def _check_items(data: JsonDict, supplied: list[JsonDict]) -> None:
    consent_id = data["consentId"]
    if data["status"] not in ("initiated", "started"):
        raise _fail(
            400,
            "not_allowed",
            f"Consent '{consent_id}' is '{data['status']}' and accepts no more data",
            resource=consent_id,
        )
    owed = set(pending(data))
    for item in supplied:
        name, value = item["name"], item["value"]
        problem = None
        if name not in owed:
            problem = f"Consent data '{name}' is not requested by consent '{consent_id}'"
        elif not value.strip():
            problem = f"Consent data '{name}' needs a value"
        elif name == "iban" and not iban_ok(value):
            problem = f"'{value}' is not a valid IBAN"
        elif name == "select" and value not in {p["value"] for p in ITEMS["select"]["properties"]}:
            problem = f"'{value}' is not one of the choices of 'select'"
        if problem:
            raise _fail(400, "invalid_parameter", problem, resource=consent_id)
        owed.discard(name)


@handlers
@_bearer
def get_consent(ctx: Context) -> Reply:
    return Reply(200, _shown(ctx, _owned(ctx).data, items=False))


@handlers
@_bearer
def list_consents(ctx: Context) -> Reply:
    query = ctx.query
    if "inquiryId" in query:
        known = {default_inquiry(ctx.tenant)} | {r.data["inquiryId"] for r in ctx.records()}
        if query["inquiryId"] not in known:
            raise _fail(404, "not_found", f"Inquiry '{query['inquiryId']}' not found")
    limit = int(query["limit"])
    filtered = any(name in query for name in _FILTERS)
    keep = (lambda d: _matches(d, query)) if filtered else None
    status = query.get("status")
    if query.get("cursor"):  # an empty cursor is the first page
        after = ctx.store.get_value(CURSOR_NS, str(query["cursor"]), ctx.now)
        if not after or after["tenant"] != ctx.tenant or "after" not in after:
            raise _fail(400, "invalid_parameter", f"Invalid cursor '{query['cursor']}'")
        everything, total = ctx.listing(status=status, keep=keep)
        later = [r for r in everything if order_key(r.data) > after["after"]]
        page, more = later[:limit], len(later) > limit
    else:  # the first page: the store reads just these records
        page, total = ctx.listing(status=status, limit=limit, keep=keep)
        more = total > len(page)
    next_cursor = None
    if more:
        next_cursor = secrets.token_urlsafe(12)
        position = {"tenant": ctx.tenant, "after": order_key(page[-1].data)}
        ctx.store.put_value(CURSOR_NS, next_cursor, position, ctx.now + CURSOR_LIFETIME)
    body = {
        "data": [_shown(ctx, r.data, items=False) for r in page],
        "metadata": {"total": total, "limit": limit, "nextCursor": next_cursor},
    }
    return Reply(200, body)


def order_key(data: JsonDict) -> str:
    """Newest `created` first, ties by consentId."""
    return sort_stamp(parse_instant(data["created"]), newest_first=True) + str(data["consentId"])


_FILTERS = (
    "inquiryId",
    "msisdn",
    "msidsn",
    "email",
    "validFrom",
    "validUntil",
    "providerName",
    "country",
    "scope",
    "dataKey",
    "dataValue",
)


def _matches(data: JsonDict, query: JsonDict) -> bool:
    owner = data.get("owner") or {}
    checks: dict[str, Callable[[str], bool]] = {
        "inquiryId": lambda v: data["inquiryId"] == v,
        "msisdn": lambda v: owner.get("msisdn") == v,
        "msidsn": lambda v: owner.get("msisdn") == v,
        "email": lambda v: str(owner.get("email", "")).casefold() == v.casefold(),
        "validFrom": lambda v: parse_instant(data["created"]) >= parse_instant(v),
        "validUntil": lambda v: parse_instant(data["validUntil"]) <= parse_instant(v),
        "providerName": lambda v: data["providerId"] == v,
        "country": lambda v: str(data.get("country", "")).upper() == v.upper(),
        "status": lambda v: data["status"] == v,
        "scope": lambda v: data["scope"] == v,
    }
    if not all(check(query[name]) for name, check in checks.items() if name in query):
        return False
    key, value = query.get("dataKey"), query.get("dataValue")
    if key is None and value is None:
        return True
    return any(
        (key is None or e.get("key") == key) and (value is None or e.get("value") == value)
        for e in data.get("data", [])
    )


# -- the admin outbox ------------------------------------------------------------------------------
_OUTBOX_FILTERS = [
    {"name": name, "in": "query", "description": text, "schema": {"type": "string"}}
    for name, text in (
        ("msisdn", "Only SMS to this number (digits compared)."),
        ("email", "Only e-mails to this address (case-insensitive)."),
        ("tenant", "Only messages sent for this Api-Key."),
    )
]
# /__admin/fliqa/outbox in the admin API's OpenAPI document (GET /__admin/openapi.json).
ADMIN_PATHS: dict[str, Any] = {
    "/outbox": {
        "parameters": _OUTBOX_FILTERS,
        "get": {
            "operationId": "fliqaOutbox",
            "tags": ["consents"],
            "summary": "The one-time passwords login 'sent', newest first",
            "responses": {
                "200": {
                    "description": "The messages.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["messages", "total"],
                                "properties": {
                                    "messages": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "channel", "to", "otp", "tenant"],
                                            "properties": {
                                                "channel": {"enum": ["sms", "email"]},
                                                "otp": {"type": "string"},
                                            },
                                        },
                                    },
                                    "total": {"type": "integer", "minimum": 0},
                                },
                            }
                        }
                    },
                }
            },
        },
        "delete": {
            "operationId": "fliqaClearOutbox",
            "tags": ["consents"],
            "summary": "Delete the messages selected (all without a filter)",
            "responses": {"200": {"$ref": "#/components/responses/Deleted"}},
        },
    }
}


def admin(kit: Kit) -> None:
    """GET|DELETE /__admin/fliqa/outbox[?msisdn=&email=&tenant=]: the OTPs login 'sent'."""

    def selected(messages: list[JsonDict]) -> list[JsonDict]:
        args = kit.args()
        phone = "".join(c for c in args.get("msisdn", "") if c.isdigit())
        email, tenant = args.get("email", "").casefold(), args.get("tenant", "")
        return [
            m
            for m in messages
            if (not phone or (m["channel"] == "sms" and _digits(m["to"]) == phone))
            and (not email or (m["channel"] == "email" and m["to"].casefold() == email))
            and (not tenant or m["_tenant"] == tenant)
        ]

    def stored() -> list[JsonDict]:
        entries = kit.sim.store.feed_read(OUTBOX_FEED)
        deleted = {i for entry in entries for i in entry.get("_deleted", ())}
        return [m for m in entries if "_deleted" not in m and m["id"] not in deleted]

    @kit.route("/outbox", methods=("GET",))
    def outbox() -> Response:
        shown = [_public_message(m) for m in reversed(selected(stored()))]
        return jsonify({"messages": shown, "total": len(shown)})

    @kit.route("/outbox", methods=("DELETE",))
    def clear_outbox() -> Response:
        doomed = [m["id"] for m in selected(stored())]
        if not any(kit.args().get(name) for name in ("msisdn", "email", "tenant")):
            kit.sim.store.feed_clear(OUTBOX_FEED)
        elif doomed:  # a tombstone: appends cannot lose a message sent meanwhile
            kit.sim.store.feed_append(OUTBOX_FEED, {"_deleted": doomed}, OUTBOX_CAPACITY)
        return jsonify({"deleted": len(doomed)})


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _public_message(message: JsonDict) -> JsonDict:
    shown = {k: v for k, v in message.items() if not k.startswith("_")}
    shown["tenant"] = "sha256:" + hashlib.sha256(message["_tenant"].encode()).hexdigest()[:12]
    return shown


# -- the sandbox bank page (the `redirect` item of consentData) ------------------------------------
def sandbox(kit: Kit) -> None:
    """/__sandbox/fliqa/bank/<consentId>[?redirectUrl=<url>]: approve, reject or fail."""

    @kit.route("/bank/<consent_id>")
    def bank(consent_id: str) -> Any:
        redirect_url = kit.args().get("redirectUrl") or ""
        if redirect_url and not is_http_url(redirect_url):
            return kit.error_page(
                "Invalid redirect", "redirectUrl must be an absolute http(s) URL.", 400
            )
        record = kit.find(consent_id)
        if record is None:
            return kit.error_page("Consent not found", "This consent does not exist.", 404)
        refusal = _not_open(record.data)
        if refusal:
            return kit.error_page("Bank step not open", refusal, 409)
        ctx = kit.context(record.tenant)
        journey = secrets.token_urlsafe(16)
        state = {"consentId": consent_id, "redirectUrl": redirect_url}
        ctx.store.put_value(JOURNEY_NS, journey, state, ctx.now + JOURNEY_LIFETIME)
        return kit.page("Approve account access", _bank_form(record.data, journey))

    @kit.route("/bank/<consent_id>/decision", methods=("POST",))
    def decision(consent_id: str) -> Any:
        record = kit.find(consent_id)
        if record is None:
            return kit.error_page("Consent not found", "This consent does not exist.", 404)
        ctx = kit.context(record.tenant)
        state = ctx.store.take_value(JOURNEY_NS, kit.form().get("journey", ""), ctx.now)
        if not state or state.get("consentId") != consent_id:
            return kit.error_page("Session expired", "Open the bank page again.", 403)
        target = {"approve": "valid", "reject": "rejected", "error": "failed"}.get(
            kit.form().get("decision", "")
        )
        if target is None:
            return kit.error_page("Unknown decision", "Choose Approve, Reject or Bank error.", 400)
        refusal = _not_open(record.data)
        if refusal:
            return kit.error_page("Bank step not open", refusal, 409)
        try:
            for step in path_to(status_of(record.data), target):
                kit.move(consent_id, step)
        except TransitionRefused as refused:
            return kit.error_page("Cannot change the consent", str(refused), 409)
        params = {"consentId": consent_id, "status": target}
        url = str(state.get("redirectUrl") or "")
        if not url:
            body = Markup(
                "<p class='lead'>The consent is now <b>{}</b>. You can close this window.</p>"
            )
            return kit.page("All done", body.format(target))
        return kit.redirect_to(url, params)


def _not_open(data: JsonDict) -> str | None:
    status = data["status"]
    if status not in ("initiated", "started", "received"):
        return f"This consent is already {status}."
    owed = pending(data)
    if owed:
        return f"The bank step opens once every item has a value; missing: {', '.join(owed)}."
    return None


def _bank_form(data: JsonDict, journey: str) -> Markup:
    bank = BANKS.get(data["providerId"])
    owner = data.get("owner") or {}
    rows = [
        ("Bank", bank.title if bank else data["providerId"]),
        ("Country", data.get("country", "")),
        ("Access", data["scope"]),
        ("Owner", " · ".join(v for v in (owner.get("msisdn"), owner.get("email")) if v)),
        ("Valid until", data["validUntil"]),
    ]
    rows += [
        (i["label"], i["value"]) for i in render(data)["consentData"] if i["name"] != "redirect"
    ]
    details = Markup("").join(Markup("<dt>{}</dt><dd>{}</dd>").format(k, v) for k, v in rows)
    return Markup(
        "<p class='lead'>{name}: {description}.</p><dl>{details}</dl>"
        "<form method='post' action='{consent_id}/decision'>"
        "<input type='hidden' name='journey' value='{journey}'>"
        "<div class='actions'>"
        "<button class='primary' type='submit' name='decision' value='approve'>Approve</button>"
        "<button class='danger' type='submit' name='decision' value='reject'>Reject</button>"
        "<button class='secondary' type='submit' name='decision' value='error'>Bank error</button>"
        "</div></form>"
    ).format(
        name=data.get("name") or "Account access",
        description=data.get("description") or "",
        details=details,
        consent_id=data["consentId"],
        journey=journey,
    )


# -- the fixtures' credentials ---------------------------------------------------------------------
def seed_tenant(ctx: Context, credentials: JsonDict) -> None:
    """Register a tenant's Api-Secret, environment, tenant slug and token scope."""
    unknown = set(credentials) - {"apiSecret", "environment", "tenantSlug", "scope"}
    if unknown:
        raise ValueError(
            f"unknown credential fields: {', '.join(sorted(unknown))}; "
            "allowed: apiSecret, environment, tenantSlug, scope"
        )
    secret, slug = credentials.get("apiSecret"), credentials.get("tenantSlug")
    environment = credentials.get("environment", "sandbox")
    scope = credentials.get("scope", list(DEFAULT_TOKEN_SCOPE))
    if not isinstance(secret, str) or not secret or not isinstance(slug, str) or not slug:
        raise ValueError("apiSecret and tenantSlug are required non-empty strings")
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
    if not isinstance(scope, list) or not set(scope) <= set(TOKEN_SCOPES):
        raise ValueError(f"scope must be a list of {', '.join(TOKEN_SCOPES)}")
    bound = {"secret": secret, "environment": environment, "tenantSlug": slug, "scope": scope}
    ctx.store.put_value(KEY_NS, ctx.tenant, bound, None)


PROVIDER = ProviderDef(
    name=NAME,
    title="Fliqa account information",
    spec_file="fliqa.yaml",
    handlers=handlers,
    identify=identify,
    render_error=render_error,
    render=render,
    lifecycle=lifecycle,
    deadline=deadline,
    order_key=order_key,
    status_of=status_of,
    parse_status=parse_status,
    transitions=TRANSITIONS,
    transition=transition,
    admin_create=admin_create,
    default_tenant="sandbox-fliqa-key",
    credentials_doc=(
        "`GET /fliqa/service/auth/token/sandbox/sandbox` with `Api-Key: sandbox-fliqa-key` and "
        "`Api-Secret: sandbox-fliqa-secret`, then `Authorization: Bearer <accessToken>`; the "
        "Api-Key value is the tenant (a new key is its own tenant, bound on first use)"
    ),
    secret_tenant=True,
    secret_fields=frozenset({"otp", "header:api-secret"}),
    sandbox=sandbox,
    admin=admin,
    admin_paths=ADMIN_PATHS,
    seed_tenant=seed_tenant,
)
