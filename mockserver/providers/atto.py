"""Atto Consent API: client-credentials tokens, bare-array lists, revoke, the Connect journey."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

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
from ..clock import format_instant, parse_duration, parse_instant
from ..lifecycle import TransitionRefused
from ..sandbox import Kit, is_http_url
from ..store import Record
from ..validation import Violation

JsonDict = dict[str, Any]

# The first status is the default of the admin API; Expired and Revoked consents can become
# Active again through re-authentication in Atto Connect (FACTS §4.3).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "Pending": ("Active", "Abandoned", "Failed"),
    "Active": ("Revoked", "Expired"),
    "Revoked": ("Active",),
    "Expired": ("Active",),
    "Abandoned": (),
    "Failed": (),
}
REAUTHENTICABLE = ("Expired", "Revoked")
DURATION_TYPES = ("Single", "Limited", "Infinite")
JOURNEY_TYPES = ("Reauthentication", "Reconfirmation")
# Atto Connect's journey errors (docs.atto.co .../platform-integration/errors#atto-connect).
CONNECT_ERRORS = {
    "access_denied": "The customer or the bank denied consent.",
    "provider_permanent_error": "An error occurred with the bank; the request cannot complete.",
    "provider_unsupported_feature": "The feature is not supported by this bank.",
    "unexpected_error": "An unexpected, unrecoverable error occurred.",
}
CANCELLED = "customer_cancelled"
CANCELLED_TEXT = "The customer cancelled the Atto Connect journey."
# Simulator choice: the sandbox's banks and their ids (Atto's real provider ids are not public).
PROVIDERS: dict[int, str] = {
    1: "Atto Sandbox Bank",
    2: "Barclays",
    3: "HSBC UK",
    4: "Lloyds Bank",
    5: "NatWest",
    6: "Santander UK",
    7: "Monzo",
    8: "Starling Bank",
    9: "Nationwide Building Society",
}
DEFAULT_PROVIDER = 1
DEFAULT_PERMISSIONS = ("ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail")
DEFAULT_DURATION = "P90D"
DEFAULT_LIFETIME = timedelta(days=90)
DEFAULT_HISTORY_DAYS = 365
DEFAULT_CONFIGURATION = "default"
REVOKED_BY_API = "Consent revoked via the Consent API"
REVOKED_ELSEWHERE = "Consent revoked by the user or the bank"
EXPIRED_DETAILS = "Consent end date reached"
TOKEN_LIFETIME_SECONDS = 3600
TOKEN_NS = "atto:token"
CLIENT_NS = "atto:client"
JOURNEY_NS = "atto:journey"
JOURNEY_LIFETIME = timedelta(hours=1)
_IDS = uuid.UUID("6f0b7c1e-3a2d-4c59-9e8f-a770c0de0001")  # namespace for derived uuids
FIELDS = (
    "consentId",
    "applicationId",
    "userId",
    "providerId",
    "providerName",
    "configurationName",
    "customerReference",
    "consentDurationType",
    "consentStatus",
    "consentStart",
    "consentEnd",
    "duration",
    "daysOfHistoricalTransactions",
    "statusUpdated",
    "statusDetails",
    "permissions",
    "invitationId",
    "journeyType",
)

handlers = Handlers()


# -- the consent and its lifecycle ----------------------------------------------------------------
def render(data: JsonDict) -> JsonDict:
    """The consent as Atto shows it: the 18 fields of the seed, in its order."""
    return {key: data.get(key) for key in FIELDS}


def status_of(data: JsonDict) -> str:
    return str(data["consentStatus"])


def parse_status(value: Any) -> str | None:
    """A status by name, in any case (the admin API's convenience)."""
    text = str(value).strip().lower()
    return next((s for s in TRANSITIONS if s.lower() == text), None)


def application_id(client_id: str) -> str:
    """The consent's applicationId: the client_id if it is a uuid, else a uuid derived from it."""
    try:
        return str(uuid.UUID(client_id))
    except ValueError:
        return str(uuid.uuid5(_IDS, f"application:{client_id}"))


def user_id(client_id: str, customer_ref: str | None) -> str:
    """One Atto user per client and customer reference, so `userId` is stable across journeys."""
    if customer_ref is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IDS, f"user:{client_id}:{customer_ref}"))


def lifetime(data: JsonDict) -> timedelta | None:
    """How long an authorisation lasts: None for Infinite, else `duration` (90 days by default)."""
    if data.get("consentDurationType") == "Infinite":
        return None
    try:
        span = parse_duration(str(data.get("duration") or DEFAULT_DURATION))
    except ValueError:
        return DEFAULT_LIFETIME
    return span if span > timedelta() else DEFAULT_LIFETIME


def lifecycle(data: JsonDict, now: datetime) -> JsonDict | None:
    """An Active consent becomes Expired when its consentEnd is reached on the simulated clock."""
    if data["consentStatus"] != "Active" or not data.get("consentEnd"):
        return data
    end = parse_instant(str(data["consentEnd"]))
    if now < end:
        return data
    return {
        **data,
        "consentStatus": "Expired",
        "statusUpdated": format_instant(end),
        "statusDetails": EXPIRED_DETAILS,
    }


def deadline(data: JsonDict) -> datetime | None:
    """An Active consent with an end expires then; nothing else changes on its own."""
    if data["consentStatus"] != "Active" or not data.get("consentEnd"):
        return None
    return parse_instant(str(data["consentEnd"]))


def order_key(data: JsonDict) -> str:
    """Lists show consents in the order they were created."""
    created = data.get("_createdAt")
    return sort_stamp(parse_instant(str(created))) if created else ""


_DEFAULT_DETAILS: dict[str, str | None] = {
    "Pending": None,
    "Active": None,
    "Revoked": REVOKED_ELSEWHERE,
    "Expired": EXPIRED_DETAILS,
    "Abandoned": CANCELLED,
    "Failed": "access_denied",
}


def apply_status(data: JsonDict, to: str, now: datetime, details: str | None = None) -> JsonDict:
    """Move a consent to a status, with what the status implies; `details` overrides the default."""
    before = data["consentStatus"]
    stamp = format_instant(now)
    data.update(consentStatus=to, statusUpdated=stamp)
    data["statusDetails"] = _DEFAULT_DETAILS[to] if details is None else details
    if to == "Active":
        if before in REAUTHENTICABLE:
            data["journeyType"] = "Reauthentication"
        span = lifetime(data)
        data["consentStart"] = stamp
        data["consentEnd"] = None if span is None else format_instant(now + span)
    elif to == "Expired":
        end = data.get("consentEnd")
        if end is None or parse_instant(str(end)) > now:
            data["consentEnd"] = stamp
    return data


def transition(data: JsonDict, to: str, now: datetime, options: JsonDict) -> JsonDict:
    """The admin API's and the journey's transitions; options: `error` (Failed), `statusDetails`."""
    unknown = set(options) - {"error", "statusDetails"}
    if unknown:
        raise ValueError(
            f"unknown transition options: {', '.join(sorted(unknown))}; allowed: error (the "
            "Atto Connect error of a Failed consent), statusDetails (any status)"
        )
    details = options.get("statusDetails")
    if details is not None and not isinstance(details, str):
        raise ValueError("statusDetails must be a string")
    if "error" in options:
        if to != "Failed":
            raise ValueError("error is only for a move to Failed")
        if options["error"] not in CONNECT_ERRORS:
            raise ValueError(f"error must be one of {', '.join(CONNECT_ERRORS)}")
        details = details or str(options["error"])
    return apply_status(data, to, now, details)


def new_consent(
    client_id: str,
    consent_id: str,
    now: datetime,
    *,
    customer_ref: str | None,
    configuration: str | None = DEFAULT_CONFIGURATION,
    provider_id: int = DEFAULT_PROVIDER,
) -> JsonDict:
    """A Pending consent, as Atto Connect makes it when the user has picked a bank."""
    stamp = format_instant(now)
    return {
        "consentId": consent_id,
        "applicationId": application_id(client_id),
        "userId": user_id(client_id, customer_ref),
        "providerId": provider_id,
        "providerName": PROVIDERS.get(provider_id),
        "configurationName": configuration,
        "customerReference": customer_ref,
        "consentDurationType": "Limited",
        "consentStatus": "Pending",
        "consentStart": None,
        "consentEnd": None,
        "duration": DEFAULT_DURATION,
        "daysOfHistoricalTransactions": DEFAULT_HISTORY_DAYS,
        "statusUpdated": stamp,
        "statusDetails": None,
        "permissions": list(DEFAULT_PERMISSIONS),
        "invitationId": None,
        "journeyType": None,
        "_createdAt": stamp,
    }


# -- the admin API ------------------------------------------------------------------------------
_KINDS: dict[str, tuple[str | tuple[str, ...], bool]] = {
    "applicationId": ("uuid", False),
    "userId": ("uuid", False),
    "providerId": ("int32", False),
    "providerName": ("string", True),
    "configurationName": ("string", True),
    "customerReference": ("string", True),
    "consentDurationType": (DURATION_TYPES, False),
    "consentStart": ("instant", True),
    "consentEnd": ("instant", True),
    "duration": ("string", True),
    "daysOfHistoricalTransactions": ("int32", True),
    "statusUpdated": ("instant", False),
    "statusDetails": ("string", True),
    "permissions": ("strings", True),
    "invitationId": ("string", True),
    "journeyType": (JOURNEY_TYPES, True),
}


def _checked(name: str, value: Any) -> Any:
    """A field's value as stored, or ValueError saying what the field takes."""
    kind, nullable = _KINDS[name]
    if value is None:
        if nullable:
            return None
        raise ValueError(f"{name} must not be null")
    if isinstance(kind, tuple):
        if value not in kind:
            raise ValueError(f"{name} must be one of {', '.join(kind)}, got {value!r}")
        return value
    if kind == "uuid":
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise ValueError(f"{name} must be a uuid, got {value!r}") from None
    if kind == "int32":
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
            raise ValueError(f"{name} must be a 32-bit integer, got {value!r}")
        return value
    if kind == "instant":
        return format_instant(_instant(value, name))
    if kind == "strings":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name} must be a list of strings or null")
        return list(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string or null, got {value!r}")
    return value


def _instant(value: Any, name: str) -> datetime:
    try:
        return parse_instant(str(value))
    except ValueError:
        raise ValueError(f"{name} must be an RFC 3339 date-time, got {value!r}") from None


def admin_create(ctx: Context, fields: JsonDict) -> AdminCreated:
    """A consent in any status, with the defaults Atto Connect gives (bank 1, 90 days...)."""
    fields = dict(fields)
    status = fields.pop("status")
    raw_id = fields.pop("consentId", None) or fields.pop("id", None) or uuid.uuid4()
    try:
        consent_id = str(uuid.UUID(str(raw_id)))
    except ValueError:
        raise ValueError(f"consentId must be a uuid, got {raw_id!r}") from None
    unknown = set(fields) - set(_KINDS)
    if unknown:
        raise ValueError(
            f"unknown consent fields: {', '.join(sorted(unknown))}; allowed: status, consentId "
            f"(or id), {', '.join(_KINDS)}"
        )
    given = {name: _checked(name, value) for name, value in fields.items()}
    customer_ref = given.get("customerReference", f"sandbox-customer-{consent_id[:8]}")
    provider_id = given.get("providerId", DEFAULT_PROVIDER)
    data = new_consent(
        ctx.tenant, consent_id, ctx.now, customer_ref=customer_ref, provider_id=provider_id
    )
    data.update(given)
    if "providerName" not in given:
        data["providerName"] = PROVIDERS.get(provider_id)
    if "userId" not in given:
        data["userId"] = user_id(ctx.tenant, data["customerReference"])
    _status_defaults(data, status, ctx.now, given)
    return AdminCreated(consent_id, data)


def _status_defaults(data: JsonDict, status: str, now: datetime, given: JsonDict) -> None:
    """What the status implies for the fields the request left out."""
    data["consentStatus"] = status
    if "statusDetails" not in given:
        data["statusDetails"] = _DEFAULT_DETAILS[status]
    span = lifetime(data)
    if status in ("Active", "Revoked"):
        if "consentStart" not in given:
            data["consentStart"] = format_instant(now)
        if "consentEnd" not in given and data["consentStart"] is not None:
            start = parse_instant(data["consentStart"])
            data["consentEnd"] = None if span is None else format_instant(start + span)
    elif status == "Expired":
        if "consentEnd" not in given or data["consentEnd"] is None:
            data["consentEnd"] = format_instant(now)
        end = parse_instant(data["consentEnd"])
        if end > now:
            raise ValueError("an Expired consent's consentEnd must not be after the simulated now")
        if "consentStart" not in given:
            data["consentStart"] = format_instant(end - (span or DEFAULT_LIFETIME))
        if "statusUpdated" not in given:
            data["statusUpdated"] = data["consentEnd"]


# -- tokens, tenants and errors ------------------------------------------------------------------
def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def register_client(ctx: Context, client_id: str, secret: str) -> None:
    ctx.store.put_value(CLIENT_NS, client_id, {"secretHash": _hash(secret)}, None)


def seed_tenant(ctx: Context, credentials: JsonDict) -> None:
    """A fixture's `credentials: {client_secret: ...}` registers the client's secret."""
    unknown = set(credentials) - {"client_secret"}
    secret = credentials.get("client_secret")
    if unknown or not isinstance(secret, str) or not secret:
        raise ValueError("give exactly client_secret: a non-empty string")
    register_client(ctx, ctx.tenant, secret)


def _client_accepted(ctx: Context, client_id: str, secret: str) -> bool:
    """The first secret a client_id is used with registers it; later ones must match it."""
    known = ctx.store.claim_value(CLIENT_NS, client_id, {"secretHash": _hash(secret)}, ctx.now)
    return hmac.compare_digest(str(known["secretHash"]), _hash(secret))


def identify(ctx: Context) -> str:
    """Tenant = client_id: from the token body, or from the grant behind the bearer token.

    The engine calls this with the global clock; a grant also carries its expiry on the
    tenant's clock, which `_fresh` checks once the handler runs with that clock.
    """
    if ctx.operation_id == "createToken":
        ctx.state["globalNow"] = ctx.now
        body = ctx.body if isinstance(ctx.body, dict) else {}
        client_id = body.get("client_id")
        return client_id if isinstance(client_id, str) else ""
    grant = ctx.store.get_value(TOKEN_NS, str(ctx.credentials.get("bearerAuth", "")), ctx.now)
    if not grant:
        raise _unauthorised("The access token is unknown or expired.")
    ctx.state["grant"] = grant
    return str(grant["tenant"])


def _fresh(ctx: Context) -> None:
    """The grant has not expired by the tenant's own clock (it may have moved on its own)."""
    grant = ctx.state.get("grant")
    if not grant or ctx.now >= datetime.fromisoformat(str(grant["expiresAt"])):
        raise _unauthorised("The access token is unknown or expired.")


def _unauthorised(details: str) -> ApiError:
    return ApiError(401, "unauthenticated", details, code="unauthorised_client")


_DESCRIPTIONS = {
    "application_invalid": "Invalid application id was provided.",
    "parameters_invalid": "Invalid parameters were provided.",
    "template_invalid": "Invalid template id was provided.",
    "unauthorised_client": "Client is not authorised.",
    "account_refresh_not_allowed": "Refresh is not allowed for this account.",
    "consent_denied": "Consent was denied access by the bank.",
    "consent_expired": "Consent has expired.",
    "consent_revoked": "Consent was revoked.",
    "sca_error": "SCA expiry has elapsed. Please have the user re-authenticate to continue.",
    "account_not_found": "Account requested was not found.",
    "client_not_found": "Client for the provided client id was not found.",
    "configuration_not_found": "Configuration for the provided configuration id was not found.",
    "consent_not_found": "Consent for the provided consent id was not found.",
    "invitation_not_found": "Email invitation for the provided invitation id was not found.",
    "provider_unsupported_feature": "Feature is unsupported for provider.",
    "unexpected_error": "An unexpected error has occurred.",
}
# The code for an error the provider did not name (engine refusals, injected faults).
_CODE_BY_STATUS = {
    401: "unauthorised_client",
    403: "consent_denied",
    404: "consent_not_found",
    422: "provider_unsupported_feature",
}


def render_error(err: ApiError, scope: ErrorScope) -> Reply:
    """Atto's error body: {code, description, details, correlationId}, always application/json."""
    code = err.code
    if code not in _DESCRIPTIONS:
        if 400 <= err.status < 500:
            code = _CODE_BY_STATUS.get(err.status, "parameters_invalid")
        else:
            code = "unexpected_error"
    # The engine also attaches a violation to other refusals; only schema violations need words.
    schema = [v for v in err.violations if v.location != err.kind]
    details = "; ".join(_explain(v) for v in schema) if schema else err.message
    body = {
        "code": code,
        "description": _DESCRIPTIONS[code],
        "details": details or None,
        "correlationId": scope.request_id,
    }
    return Reply(err.status, body, dict(err.headers), media_type="application/json")


def _explain(violation: Violation) -> str:
    """One violation in words a client developer can act on."""
    rule = violation.schema_path.rsplit("/", 1)[-1]
    field = violation.name.rsplit("/", 1)[-1] or violation.location
    if rule == "required":
        return violation.message.replace("'", "").replace("is a required property", "is required")
    if field == "grant_type" and rule == "enum":
        return "grant_type must be client_credentials"
    if field == "scope" and rule == "pattern":
        return "scope must be space-separated Atto scopes including api:consent"
    if field == "consentId" and rule == "format":
        return "consentId must be a uuid"
    return f"{field}: {violation.message}"


def _not_found(consent_id: str) -> ApiError:
    return ApiError(
        404, "not_found", f"No consent {consent_id} for this client.", code="consent_not_found"
    )


def _owned(ctx: Context) -> Record:
    _fresh(ctx)
    record = ctx.fetch(ctx.path["consentId"])
    if record is None:
        raise _not_found(ctx.path["consentId"])
    return record


# -- handlers ------------------------------------------------------------------------------------
@handlers
def create_token(ctx: Context) -> Reply:
    body: JsonDict = ctx.body
    client_id, secret = str(body["client_id"]), str(body["client_secret"])
    if not _client_accepted(ctx, client_id, secret):
        raise _unauthorised("Invalid client credentials.")
    token = secrets.token_urlsafe(32)
    span = timedelta(seconds=TOKEN_LIFETIME_SECONDS)
    issued_globally: datetime = ctx.state.get("globalNow", ctx.now)
    grant = {
        "tenant": client_id,
        "scope": str(body["scope"]),
        "expiresAt": (ctx.now + span).isoformat(),
    }
    ctx.store.put_value(TOKEN_NS, token, grant, issued_globally + span)
    return Reply(
        200, {"tokenType": "Bearer", "expiresIn": TOKEN_LIFETIME_SECONDS, "accessToken": token}
    )


@handlers
def list_consents(ctx: Context) -> Reply:
    return Reply(200, _listed(ctx))


@handlers
def list_consents_v2(ctx: Context) -> Reply:
    # Simulator choice: every simulated consent is an OpenBanking consent.
    if ctx.query.get("dataSourceType") == "CreditInformation":
        _fresh(ctx)
        return Reply(200, [])
    return Reply(200, _listed(ctx))


def _listed(ctx: Context) -> list[JsonDict]:
    _fresh(ctx)
    query = ctx.query
    offset, limit = int(query.get("offset", 0)), int(query.get("limit", 0))
    filtered = any(name in query for name in _FILTERS)
    records, _ = ctx.listing(
        status=query.get("consentStatus"),
        offset=offset,
        limit=limit or None,
        keep=(lambda d: _matches(d, query)) if filtered else None,
    )
    return [render(r.data) for r in records]


_FILTERS = ("configurationName", "providerId", "customerReference", "userId", "from", "to")


def _matches(data: JsonDict, query: JsonDict) -> bool:
    """The filters besides consentStatus (which the store's index serves)."""
    for name in ("configurationName", "providerId", "customerReference"):
        if name in query and data.get(name) != query[name]:
            return False
    if "userId" in query and data.get("userId") != query["userId"]:
        return False
    updated = parse_instant(str(data["statusUpdated"]))
    if "from" in query and updated < parse_instant(str(query["from"])):
        return False
    return "to" not in query or updated <= parse_instant(str(query["to"]))


@handlers
def get_consent(ctx: Context) -> Reply:
    return Reply(200, render(_owned(ctx).data))


@handlers
def revoke_consent(ctx: Context) -> Reply:
    record = _owned(ctx)

    def change(data: JsonDict) -> JsonDict:
        status = status_of(data)
        if status != "Active":
            code = "consent_expired" if status == "Expired" else "consent_revoked"
            raise ApiError(
                403,
                "forbidden",
                f"Only an Active consent can be revoked; this one is {status}.",
                code=code,
            )
        return apply_status(data, "Revoked", ctx.now, REVOKED_BY_API)

    ctx.update(record, change)
    return Reply(204)


# -- the Atto Connect journey (sandbox pages) ------------------------------------------------------
def _journey(kit: Kit, state: JsonDict) -> str:
    """Keep a journey's state server-side for an hour; the page carries only its key."""
    ctx = kit.context("")
    key = secrets.token_urlsafe(16)
    ctx.store.put_value(JOURNEY_NS, key, state, ctx.now + JOURNEY_LIFETIME)
    return key


def _journey_state(kit: Kit, key: str, *, take: bool = False) -> JsonDict | None:
    ctx = kit.context("")
    read = ctx.store.take_value if take else ctx.store.get_value
    state: JsonDict | None = read(JOURNEY_NS, key, ctx.now) if key else None
    return state


def _grant_for(kit: Kit, token: str) -> JsonDict | None:
    """The grant behind an api:consent access token, if it is live by its tenant's clock."""
    ctx = kit.context("")
    grant: JsonDict | None = ctx.store.get_value(TOKEN_NS, token, ctx.now) if token else None
    if grant is None:
        return None
    tenant_now = kit.context(str(grant["tenant"])).now
    return grant if tenant_now < datetime.fromisoformat(str(grant["expiresAt"])) else None


def _outcome_params(data: JsonDict, state: str, **extra: str) -> dict[str, str]:
    """Atto's redirect parameters: customer_ref, state, then consent_id or error."""
    reference = data.get("customerReference")
    params = {} if reference is None else {"customer_ref": str(reference)}
    return {**params, "state": state, **extra}


def _bank_options(selected: int) -> Markup:
    return Markup("").join(
        Markup(
            "<label class='option'><input type='radio' name='provider' value='{0}'{2}> {1}</label>"
        ).format(pid, name, Markup(" checked") if pid == selected else "")
        for pid, name in PROVIDERS.items()
    )


def _start_page(kit: Kit, args: Mapping[str, str], redirect_url: str) -> Any:
    """GET /connect?client_id=&customer_ref=[&config_id][&provider_id][&redirect_url]."""
    client_id = (args.get("client_id") or "").strip()
    customer_ref = args.get("customer_ref") or ""
    if not client_id:
        return kit.error_page("Missing client", "client_id is required.", 400)
    if not customer_ref.strip() or len(customer_ref) > 255:
        return kit.error_page(
            "Missing customer reference", "customer_ref is required (1 to 255 characters).", 400
        )
    chosen = args.get("provider_id") or str(DEFAULT_PROVIDER)
    if not chosen.isdigit() or int(chosen) not in PROVIDERS:
        known = ", ".join(f"{pid} ({name})" for pid, name in PROVIDERS.items())
        return kit.error_page("Unknown bank", f"provider_id must be one of {known}.", 400)
    key = _journey(
        kit,
        {
            "step": "bank",
            "clientId": client_id,
            "customerRef": customer_ref,
            "configurationName": args.get("config_id") or DEFAULT_CONFIGURATION,
            "redirectUrl": redirect_url,
        },
    )
    body = Markup(
        "<p class='lead'><b>{client}</b> uses Atto Connect to read your bank data. "
        "Choose your bank.</p>"
        "<form method='post' action='{action}'>"
        "<input type='hidden' name='journey' value='{key}'>"
        "<fieldset><legend>Your bank</legend>{options}</fieldset>"
        "<div class='actions'><button class='primary' type='submit'>Continue</button></div>"
        "</form>"
    ).format(
        client=client_id,
        action=f"{kit.context('').sandbox_url}/connect/start",
        key=key,
        options=_bank_options(int(chosen)),
    )
    return kit.page("Connect your bank", body)


def _reauth_entry(kit: Kit, args: Mapping[str, str], redirect_url: str) -> Any:
    """GET /connect?consent_id=&access_token=: continue a Pending or re-authenticate a consent."""
    consent_id = args.get("consent_id") or ""
    grant = _grant_for(kit, args.get("access_token") or "")
    if grant is None:
        return kit.error_page(
            "Link expired",
            "access_token is missing, unknown or expired: get a new api:consent token.",
            401,
        )
    record = kit.find(consent_id)
    if record is None or record.tenant != grant["tenant"]:
        return kit.error_page("Consent not found", "This consent does not exist.", 404)
    status = status_of(record.data)
    if status not in ("Pending", *REAUTHENTICABLE):
        return kit.error_page(
            "Nothing to do",
            f"This consent is {status}; only a Pending, Expired or Revoked consent can go "
            "through Atto Connect.",
            409,
        )
    key = _journey(kit, {"step": "decide", "consentId": consent_id, "redirectUrl": redirect_url})
    return kit.redirect_to(f"{kit.context('').sandbox_url}/connect/{consent_id}", {"journey": key})


def _decision_page(kit: Kit, record: Record, key: str) -> Any:
    data = record.data
    reauth = status_of(data) in REAUTHENTICABLE
    lead = (
        Markup(
            "<p class='lead'>Re-authenticate to keep sharing your data from {bank} "
            "with <b>{client}</b>.</p>"
        )
        if reauth
        else Markup("<p class='lead'>Share your data from {bank} with <b>{client}</b>?</p>")
    ).format(bank=data.get("providerName") or "your bank", client=record.tenant)
    span = lifetime(data)
    facts = Markup(
        "<dl><dt>Bank</dt><dd>{bank}</dd><dt>Customer reference</dt><dd>{ref}</dd>"
        "<dt>Access for</dt><dd>{span}</dd><dt>Permissions</dt><dd>{permissions}</dd></dl>"
    ).format(
        bank=data.get("providerName") or data.get("providerId"),
        ref=data.get("customerReference") or "none",
        span="no end date" if span is None else f"{span.days} days",
        permissions=", ".join(data.get("permissions") or []) or "none",
    )
    errors = Markup("").join(
        Markup("<option value='{0}'>{0}: {1}</option>").format(code, text)
        for code, text in CONNECT_ERRORS.items()
    )
    form = Markup(
        "<form method='post' action='{action}'>"
        "<input type='hidden' name='journey' value='{key}'>"
        "<div class='actions'>"
        "<button class='primary' type='submit' name='decision' value='approve'>Approve</button>"
        "<button class='secondary' type='submit' name='decision' value='cancel'>Cancel</button>"
        "</div><fieldset style='margin-top:20px'><legend>Simulate a failure at the bank</legend>"
        "<select name='error' aria-label='Bank error'>{errors}</select> "
        "<button class='danger' type='submit' name='decision' value='fail'>Fail</button>"
        "</fieldset></form>"
    ).format(
        action=f"{kit.context('').sandbox_url}/connect/{record.id}/decision", key=key, errors=errors
    )
    heading = "Re-authenticate your bank" if reauth else "Share your bank data"
    return kit.page(heading, lead + facts + form)


def _decide(kit: Kit, record: Record, choice: str, error: str) -> dict[str, str]:
    """Apply the user's choice; a refused re-authentication leaves the consent as it was."""
    reauth = status_of(record.data) in REAUTHENTICABLE
    if choice == "approve":
        moved = kit.move(record.id, "Active")
        return _outcome_params((moved or record).data, "success", consent_id=record.id)
    if choice == "cancel":
        if not reauth:
            kit.move(record.id, "Abandoned")
        return _outcome_params(
            record.data, "error", error=CANCELLED, error_description=CANCELLED_TEXT
        )
    if not reauth:
        kit.move(record.id, "Failed", error=error)
    return _outcome_params(
        record.data, "error", error=error, error_description=CONNECT_ERRORS[error]
    )


def _finish(kit: Kit, url: str, params: dict[str, str]) -> Any:
    if url:
        return kit.redirect_to(url, params)
    facts = Markup("").join(
        Markup("<dt>{}</dt><dd>{}</dd>").format(name, value) for name, value in params.items()
    )
    body = Markup("<p class='lead'>You can close this window.</p><dl>{}</dl>").format(facts)
    return kit.page("All done", body)


def sandbox(kit: Kit) -> None:
    """Atto Connect: /__sandbox/atto/connect, then the bank's consent screen, then a redirect."""

    @kit.route("/connect")
    def connect() -> Any:
        args = kit.args()
        redirect_url = args.get("redirect_url") or ""
        if redirect_url and not is_http_url(redirect_url):
            return kit.error_page(
                "Invalid redirect", "redirect_url must be an absolute http(s) URL.", 400
            )
        if "consent_id" in args:
            return _reauth_entry(kit, args, redirect_url)
        return _start_page(kit, args, redirect_url)

    @kit.route("/connect/start", methods=("POST",))
    def start() -> Any:
        form = kit.form()
        chosen = form.get("provider") or ""
        if not chosen.isdigit() or int(chosen) not in PROVIDERS:
            return kit.error_page("Unknown bank", "Choose one of the banks listed.", 400)
        state = _journey_state(kit, form.get("journey", ""), take=True)
        if not state or state.get("step") != "bank":
            return kit.error_page("Session expired", "Open the Atto Connect link again.", 403)
        ctx = kit.context(str(state["clientId"]))
        consent_id = str(uuid.uuid4())
        data = new_consent(
            ctx.tenant,
            consent_id,
            ctx.now,
            customer_ref=str(state["customerRef"]),
            configuration=str(state["configurationName"]),
            provider_id=int(chosen),
        )
        ctx.insert(consent_id, data)
        key = _journey(
            kit, {"step": "decide", "consentId": consent_id, "redirectUrl": state["redirectUrl"]}
        )
        return kit.redirect_to(f"{ctx.sandbox_url}/connect/{consent_id}", {"journey": key})

    @kit.route("/connect/<consent_id>")
    def consent_screen(consent_id: str) -> Any:
        key = kit.args().get("journey", "")
        state = _journey_state(kit, key)
        if not state or state.get("consentId") != consent_id:
            return kit.error_page("Session expired", "Open the Atto Connect link again.", 403)
        record = kit.find(consent_id)
        if record is None:
            return kit.error_page("Consent not found", "This consent does not exist.", 404)
        if status_of(record.data) not in ("Pending", *REAUTHENTICABLE):
            return kit.error_page("Already done", f"This consent is {status_of(record.data)}.", 409)
        return _decision_page(kit, record, key)

    @kit.route("/connect/<consent_id>/decision", methods=("POST",))
    def decision(consent_id: str) -> Any:
        form = kit.form()
        choice, error = form.get("decision", ""), form.get("error") or "access_denied"
        if choice not in ("approve", "cancel", "fail") or error not in CONNECT_ERRORS:
            return kit.error_page("Unknown decision", "Choose Approve, Cancel or Fail.", 400)
        state = _journey_state(kit, form.get("journey", ""), take=True)
        if not state or state.get("consentId") != consent_id:
            return kit.error_page("Session expired", "Open the Atto Connect link again.", 403)
        record = kit.find(consent_id)
        if record is None:
            return kit.error_page("Consent not found", "This consent does not exist.", 404)
        try:
            params = _decide(kit, record, choice, error)
        except TransitionRefused as refused:
            return kit.error_page("Cannot continue", str(refused), 409)
        return _finish(kit, str(state.get("redirectUrl") or ""), params)


PROVIDER = ProviderDef(
    name="atto",
    title="Atto Consent API",
    spec_file="atto.yaml",
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
    default_tenant="sandbox-atto-client",
    credentials_doc=(
        "POST /atto/v1/oauth2/token with grant_type=client_credentials, "
        "client_id=sandbox-atto-client, client_secret=sandbox-atto-secret, scope=api:consent; "
        "then `Authorization: Bearer <accessToken>` (tenant = client_id; a new client_id is "
        "registered with the first client_secret it is used with)."
    ),
    secret_fields=frozenset({"client_secret"}),
    approved="Active",
    rejected="Abandoned",
    sandbox=sandbox,
    seed_tenant=seed_tenant,
)
