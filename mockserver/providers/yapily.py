"""Yapily consents: Basic-auth applications, account authorisations, consent tokens, the clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from http import HTTPStatus
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
from ..lifecycle import TransitionRefused
from ..sandbox import Kit
from ..store import Record
from ..validation import Violation

JsonDict = dict[str, Any]

MEDIA = "application/json;charset=UTF-8"
STATUSES = (
    "AWAITING_AUTHORIZATION",
    "AWAITING_FURTHER_AUTHORIZATION",
    "AWAITING_RE_AUTHORIZATION",
    "AUTHORIZED",
    "CONSUMED",
    "REJECTED",
    "REVOKED",
    "FAILED",
    "EXPIRED",
    "UNKNOWN",
    "INVALID",
    "AWAITING_DECOUPLED_PRE_AUTHORIZATION",
    "AWAITING_PRE_AUTHORIZATION",
    "PRE_AUTHORIZED",
    "AWAITING_DECOUPLED_AUTHORIZATION",
    "AWAITING_SCA_METHOD",
    "AWAITING_SCA_CODE",
)
# The seed's 13 account-information features, in the seed's order: the default featureScope.
DEFAULT_FEATURES = (
    "ACCOUNT_BENEFICIARIES",
    "ACCOUNT_STATEMENT_FILE",
    "ACCOUNTS",
    "ACCOUNT_PERIODIC_PAYMENTS",
    "ACCOUNT_TRANSACTIONS",
    "ACCOUNT",
    "ACCOUNT_STATEMENTS",
    "ACCOUNT_SCHEDULED_PAYMENTS",
    "IDENTITY",
    "ACCOUNT_DIRECT_DEBITS",
    "ACCOUNT_STATEMENT",
    "ACCOUNT_BALANCES",
    "ACCOUNT_TRANSACTIONS_WITH_MERCHANT",
)
# Yapily's FeatureEnum (the spec's), for checking the admin API's featureScope.
FEATURES = frozenset(
    """
    INITIATE_PRE_AUTHORISATION INITIATE_PRE_AUTHORISATION_ACCOUNTS
    INITIATE_PRE_AUTHORISATION_PAYMENTS INITIATE_ACCOUNT_REQUEST INITIATE_EMBEDDED_ACCOUNT_REQUEST
    ACCOUNT_REQUEST_DETAILS ACCOUNTS ACCOUNT ACCOUNT_TRANSACTIONS ACCOUNT_STATEMENTS
    ACCOUNT_STATEMENT ACCOUNT_STATEMENT_FILE ACCOUNT_SCHEDULED_PAYMENTS ACCOUNT_DIRECT_DEBITS
    ACCOUNT_PERIODIC_PAYMENTS ACCOUNT_TRANSACTIONS_WITH_MERCHANT IDENTITY ACCOUNTS_WITHOUT_BALANCE
    ACCOUNT_WITHOUT_BALANCE ACCOUNT_BALANCES INITIATE_SINGLE_PAYMENT_SORTCODE
    EXISTING_PAYMENT_INITIATION_DETAILS CREATE_SINGLE_PAYMENT_SORTCODE EXISTING_PAYMENTS_DETAILS
    INITIATE_DOMESTIC_SINGLE_PAYMENT INITIATE_EMBEDDED_DOMESTIC_SINGLE_PAYMENT
    CREATE_DOMESTIC_SINGLE_PAYMENT INITIATE_EMBEDDED_BULK_PAYMENT
    INITIATE_DOMESTIC_SINGLE_INSTANT_PAYMENT CREATE_DOMESTIC_SINGLE_INSTANT_PAYMENT
    INITIATE_DOMESTIC_VARIABLE_RECURRING_PAYMENT CREATE_DOMESTIC_VARIABLE_RECURRING_PAYMENT
    INITIATE_DOMESTIC_VARIABLE_RECURRING_PAYMENT_SWEEPING
    CREATE_DOMESTIC_VARIABLE_RECURRING_PAYMENT_SWEEPING
    INITIATE_DOMESTIC_VARIABLE_RECURRING_PAYMENT_COMMERCIAL
    CREATE_DOMESTIC_VARIABLE_RECURRING_PAYMENT_COMMERCIAL INITIATE_DOMESTIC_SCHEDULED_PAYMENT
    CREATE_DOMESTIC_SCHEDULED_PAYMENT INITIATE_DOMESTIC_PERIODIC_PAYMENT
    CREATE_DOMESTIC_PERIODIC_PAYMENT PERIODIC_PAYMENT_FREQUENCY_EXTENDED
    INITIATE_INTERNATIONAL_SCHEDULED_PAYMENT CREATE_INTERNATIONAL_SCHEDULED_PAYMENT
    INITIATE_INTERNATIONAL_PERIODIC_PAYMENT CREATE_INTERNATIONAL_PERIODIC_PAYMENT
    INITIATE_INTERNATIONAL_SINGLE_PAYMENT CREATE_INTERNATIONAL_SINGLE_PAYMENT
    INITIATE_BULK_PAYMENT CREATE_BULK_PAYMENT EXISTING_BULK_PAYMENT_DETAILS TRANSFER
    OPEN_DATA_PERSONAL_CURRENT_ACCOUNTS OPEN_DATA_ATMS READ_DOMESTIC_SINGLE_REFUND
    READ_DOMESTIC_SCHEDULED_REFUND READ_DOMESTIC_PERIODIC_PAYMENT_REFUND
    READ_INTERNATIONAL_SINGLE_REFUND READ_INTERNATIONAL_SCHEDULED_REFUND ACCOUNT_BENEFICIARIES
    INITIATE_ONETIME_PRE_AUTHORISATION_PAYMENTS INITIATE_ONETIME_PRE_AUTHORISATION_ACCOUNTS
    INITIATE_ONETIME_PRE_AUTHORISATION VARIABLE_RECURRING_PAYMENT_FUNDS_CONFIRMATION
    """.split()
)
INSTITUTIONS = {
    "modelo-sandbox": "Modelo Sandbox",
    "yapily-mock": "Yapily Mock Bank",
    "bbva-sandbox": "BBVA Sandbox",
    "natwest-sandbox": "NatWest Sandbox",
    "revolut-sandbox": "Revolut Sandbox",
}
CONSENT_LIFETIME = timedelta(days=90)  # UK AIS consent, and the reconfirmation interval
CODE_LIFETIME = timedelta(minutes=10)
JOURNEY_LIFETIME = timedelta(hours=1)
SECRET_NS = "yapily:secret"
USERS_NS = "yapily:users"
CODE_NS = "yapily:code"
OTT_NS = "yapily:ott"
JOURNEY_NS = "yapily:journey"
# The simulator's own signing key: tokens are verifiable (see verify_token), never real.
SIGNING_KEY = b"consent-mockserver yapily sandbox signing key"
_ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$")
UNAUTHORIZED = "Full authentication is required to access this resource"
PUBLIC_FIELDS = (
    "id",
    "userUuid",
    "applicationUserId",
    "referenceId",
    "institutionId",
    "status",
    "createdAt",
    "transactionFrom",
    "transactionTo",
    "expiresAt",
    "featureScope",
    "consentToken",
    "state",
    "authorizedAt",
    "lastConfirmedAt",
    "reconfirmBy",
    "institutionConsentId",
    "isDeletedByInstitution",
)
# Statuses that imply the user authorised the consent at some point (token, authorizedAt...).
WAS_AUTHORIZED = frozenset(
    {"AUTHORIZED", "EXPIRED", "REVOKED", "CONSUMED", "AWAITING_RE_AUTHORIZATION"}
)

handlers = Handlers()


# -- time ------------------------------------------------------------------------------------------
def stamp(value: datetime) -> str:
    """Yapily's timestamps: RFC 3339 in UTC with milliseconds, e.g. 2021-06-08T10:59:35.138Z."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: clamp to the ends of time
        utc = (datetime.min if value.year < 5000 else datetime.max).replace(tzinfo=UTC)
    return f"{utc.year:04d}-" + utc.strftime("%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_QUERY_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|([+-])(\d{2}):?(\d{2}))$"
)


def query_instant(text: str) -> datetime:
    """`from`/`before` in Yapily's `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, rolled over leniently as Java."""
    match = _QUERY_DATE.match(text)
    if match is None:  # the spec's pattern already refused it; this is a safety net
        raise ApiError(400, "invalid_request", f"{text!r} is not a date-time")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micros = int((match.group(7) or "0").ljust(6, "0")[:6])
    zone = UTC
    if match.group(8) != "Z":
        offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        zone = timezone(-offset if match.group(9) == "-" else offset)
    earliest, latest = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    try:  # year 0000 and instants past 9999 (after the offset) fall to the ends of time
        start = datetime(year, month, 1, hour, minute, second, micros, tzinfo=zone)
        return (start + timedelta(days=day - 1)).astimezone(UTC)
    except (ValueError, OverflowError):
        return earliest if year < 5000 else latest


def time_to_expire(expires: datetime, now: datetime) -> tuple[int, str] | None:
    """Milliseconds left and the same as an ISO 8601 duration (Java's Duration.toString)."""
    millis = (expires - now) // timedelta(milliseconds=1)
    if millis <= 0:
        return None
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, fraction = divmod(rest, 1000)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or fraction:
        text += f"{seconds}.{fraction:03d}".rstrip("0").rstrip(".") + "S"
    return millis, text


# -- tokens ----------------------------------------------------------------------------------------
def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def sign_token(claims: Mapping[str, Any]) -> str:
    """An HS512 JWT shaped like the seed's consent token, signed with the simulator's key."""
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS512"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    signature = hmac.new(SIGNING_KEY, f"{header}.{payload}".encode(), hashlib.sha512).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify_token(token: str) -> JsonDict | None:
    """The claims of a token this simulator signed; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    expected = hmac.new(SIGNING_KEY, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha512).digest()
    if not hmac.compare_digest(_b64(expected), parts[2]):
        return None
    claims: JsonDict = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    return claims


def consent_token(data: JsonDict) -> str:
    claims = {"INSTITUTION": data.get("institutionId"), "CONSENT": data["id"]}
    if data.get("applicationUserId"):
        claims["APPLICATION_USER_ID"] = data["applicationUserId"]
    claims["USER"] = data.get("userUuid")
    return sign_token(claims)


# -- the consent and its lifecycle -----------------------------------------------------------------
def render(data: JsonDict) -> JsonDict:
    """The consent as Yapily shows it, without the clock-dependent `timeToExpire*` fields."""
    return {key: data[key] for key in PUBLIC_FIELDS if data.get(key) is not None}


def render_at(data: JsonDict, now: datetime) -> JsonDict:
    """The consent as the API answers it at `now`: `timeToExpire*` while expiresAt is ahead."""
    shown = render(data)
    left = time_to_expire(instant(data["expiresAt"]), now) if data.get("expiresAt") else None
    if left is None:
        return shown
    ordered: JsonDict = {}
    for key, value in shown.items():
        if key == "featureScope":
            ordered["timeToExpireInMillis"], ordered["timeToExpire"] = left
        ordered[key] = value
    if "timeToExpire" not in ordered:
        ordered["timeToExpireInMillis"], ordered["timeToExpire"] = left
    return ordered


def status_of(data: JsonDict) -> str:
    return str(data["status"])


def parse_status(value: Any) -> str | None:
    text = str(value).strip().upper()
    return text if text in STATUSES else None


def lifecycle(data: JsonDict, now: datetime) -> JsonDict | None:
    """AUTHORIZED → EXPIRED at `expiresAt`; Yapily keeps every consent, so nothing is purged."""
    if data["status"] != "AUTHORIZED" or not data.get("expiresAt"):
        return data
    if now < instant(data["expiresAt"]):
        return data
    return {**data, "status": "EXPIRED"}


def deadline(data: JsonDict) -> datetime | None:
    """An AUTHORIZED consent with an expiresAt expires then; nothing else changes on its own."""
    if data["status"] != "AUTHORIZED" or not data.get("expiresAt"):
        return None
    return instant(data["expiresAt"])


_AWAITING = ("AUTHORIZED", "REJECTED", "FAILED", "REVOKED")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "AWAITING_AUTHORIZATION": _AWAITING,
    "AWAITING_FURTHER_AUTHORIZATION": _AWAITING,
    "AWAITING_RE_AUTHORIZATION": _AWAITING,
    "AUTHORIZED": ("EXPIRED", "REVOKED", "AWAITING_RE_AUTHORIZATION", "CONSUMED"),
    "CONSUMED": ("REVOKED",),
    "REJECTED": ("REVOKED",),
    "REVOKED": (),
    "FAILED": ("REVOKED",),
    "EXPIRED": ("AWAITING_RE_AUTHORIZATION", "REVOKED"),
    "UNKNOWN": ("REVOKED",),
    "INVALID": ("REVOKED",),
    "AWAITING_DECOUPLED_PRE_AUTHORIZATION": ("PRE_AUTHORIZED", "REJECTED", "FAILED", "REVOKED"),
    "AWAITING_PRE_AUTHORIZATION": ("PRE_AUTHORIZED", "REJECTED", "FAILED", "REVOKED"),
    "PRE_AUTHORIZED": ("AWAITING_AUTHORIZATION", "REVOKED"),
    "AWAITING_DECOUPLED_AUTHORIZATION": _AWAITING,
    "AWAITING_SCA_METHOD": ("AWAITING_SCA_CODE", *_AWAITING),
    "AWAITING_SCA_CODE": _AWAITING,
}


def transition(data: JsonDict, to: str, now: datetime, options: JsonDict) -> JsonDict:
    """Move a consent to a new status, filling what that status implies."""
    unknown = set(options) - {"expiresAt"}
    if unknown:
        raise ValueError(
            f"unknown transition options: {', '.join(sorted(unknown))}; allowed: expiresAt "
            "(RFC 3339, with AUTHORIZED only: the consent's hard end)"
        )
    if "expiresAt" in options:
        if to != "AUTHORIZED":
            raise ValueError("expiresAt is an option of AUTHORIZED only")
        data["_requestedExpiresAt"] = stamp(_instant(options["expiresAt"], now, "expiresAt"))
    data["status"] = to
    if to == "AUTHORIZED":
        _authorise(data, now)
    elif to == "EXPIRED" and (not data.get("expiresAt") or instant(data["expiresAt"]) > now):
        data["expiresAt"] = stamp(now)
    return data


def _authorise(data: JsonDict, at: datetime) -> None:
    requested = data.get("_requestedExpiresAt")
    data.update(
        authorizedAt=stamp(at),
        lastConfirmedAt=stamp(at),
        reconfirmBy=stamp(at + CONSENT_LIFETIME),
        expiresAt=requested or stamp(at + CONSENT_LIFETIME),
    )
    data["consentToken"] = consent_token(data)


def new_consent(
    consent_id: str, institution: str, user_uuid: str, app_user: str | None, now: datetime
) -> JsonDict:
    return {
        "id": consent_id,
        "userUuid": user_uuid,
        "applicationUserId": app_user or None,
        "institutionId": institution,
        "status": "AWAITING_AUTHORIZATION",
        "createdAt": stamp(now),
        "featureScope": list(DEFAULT_FEATURES),
        "state": uuid.uuid4().hex,
        "institutionConsentId": f"aac-{uuid.uuid4()}",
    }


def authorisation_url(ctx: Context, data: JsonDict) -> str:
    return f"{ctx.sandbox_url}/authorise/{data['id']}?state={data['state']}"


# -- users: implicit per application ---------------------------------------------------------------
def resolve_user(ctx: Context, user_uuid: str | None, app_user: str | None) -> tuple[str, str]:
    """The user a request names, created if new; ValueError when the two ids disagree."""
    namespace = f"{USERS_NS}:{ctx.tenant}"
    known_uuid = ctx.store.get_value(namespace, f"app:{app_user}", ctx.now) if app_user else None
    known_app = (
        ctx.store.get_value(namespace, f"uuid:{user_uuid.lower()}", ctx.now) if user_uuid else None
    )
    if user_uuid and app_user:
        if (known_uuid is not None and known_uuid != user_uuid.lower()) or (
            known_app and known_app != app_user
        ):
            raise ValueError(
                f"userUuid {user_uuid} and applicationUserId {app_user} do not name the same user"
            )
    resolved_uuid = (user_uuid or known_uuid or str(uuid.uuid4())).lower()
    resolved_app = app_user or known_app or ""
    ctx.store.put_value(namespace, f"uuid:{resolved_uuid}", resolved_app, None)
    if resolved_app:
        ctx.store.put_value(namespace, f"app:{resolved_app}", resolved_uuid, None)
    return resolved_uuid, resolved_app


# -- the admin API and fixtures --------------------------------------------------------------------
_ADMIN_FIELDS = (
    "id, status, userUuid, applicationUserId, referenceId, institutionId, createdAt, "
    "transactionFrom, transactionTo, expiresAt, featureScope, state, institutionConsentId, "
    "authorizedAt, lastConfirmedAt, reconfirmBy, isDeletedByInstitution, callback, redirectUrl, "
    "oneTimeToken, forwardParameters"
)


def admin_create(ctx: Context, fields: JsonDict) -> AdminCreated:
    """A consent in any status, with the defaults a real authorisation request would give."""
    try:
        return _admin_create(ctx, dict(fields))
    except OverflowError:
        raise ValueError("a date-time is too close to the ends of time (years 1 to 9999)") from None


def _admin_create(ctx: Context, fields: JsonDict) -> AdminCreated:
    status = fields.pop("status")
    consent_id = str(fields.pop("id", None) or uuid.uuid4())
    _check_uuid(consent_id, "id")
    user_uuid = _optional_str(fields.pop("userUuid", None), "userUuid")
    if user_uuid is not None:
        _check_uuid(user_uuid, "userUuid")
    app_user = _optional_str(fields.pop("applicationUserId", None), "applicationUserId")
    if user_uuid is None and app_user is None:
        app_user = "sandbox-user"
    user_uuid, app_user = resolve_user(ctx, user_uuid, app_user)
    institution = _optional_str(fields.pop("institutionId", None), "institutionId")
    created = _instant(fields.pop("createdAt", None), ctx.now, "createdAt")
    data = new_consent(consent_id, institution or "modelo-sandbox", user_uuid, app_user, created)
    for name in ("referenceId", "state", "institutionConsentId"):
        if name in fields:
            data[name] = _optional_str(fields.pop(name), name)
    for name in ("transactionFrom", "transactionTo"):
        if fields.get(name) is not None:
            data[name] = stamp(_instant(fields.pop(name), created, name))
    if "featureScope" in fields:
        data["featureScope"] = _features(fields.pop("featureScope"))
    _journey_fields(data, fields)
    expires = fields.pop("expiresAt", None)
    if expires is not None:
        data["_requestedExpiresAt"] = stamp(_instant(expires, created, "expiresAt"))
    if status in WAS_AUTHORIZED:
        authorised = _instant(fields.pop("authorizedAt", None), created, "authorizedAt")
        _authorise(data, authorised)
        for name in ("lastConfirmedAt", "reconfirmBy"):
            if fields.get(name) is not None:
                data[name] = stamp(_instant(fields.pop(name), authorised, name))
    data["status"] = status
    if status == "EXPIRED" and instant(data["expiresAt"]) > ctx.now:
        data["expiresAt"] = stamp(ctx.now)
    if "isDeletedByInstitution" in fields:
        deleted = fields.pop("isDeletedByInstitution")
        if not isinstance(deleted, bool):
            raise ValueError("isDeletedByInstitution must be a boolean")
        data["isDeletedByInstitution"] = deleted or None
    if fields:
        raise ValueError(
            f"unknown or misplaced consent fields: {', '.join(sorted(fields))}; allowed: "
            f"{_ADMIN_FIELDS} (authorizedAt, lastConfirmedAt and reconfirmBy only with a status "
            f"that was authorised: {', '.join(sorted(WAS_AUTHORIZED))})"
        )
    made: JsonDict = {}
    if status == "AWAITING_AUTHORIZATION":
        made["authorisationUrl"] = authorisation_url(ctx, data)
    return AdminCreated(consent_id, data, made)


def _journey_fields(data: JsonDict, fields: JsonDict) -> None:
    for name, key in (("callback", "_callback"), ("redirectUrl", "_redirectUrl")):
        url = _optional_str(fields.pop(name, None), name)
        if url is not None and not _ABSOLUTE_URI.match(url):
            raise ValueError(f"{name} must be an absolute URI")
        data[key] = url
    ott = fields.pop("oneTimeToken", False)
    if not isinstance(ott, bool) or (ott and not data["_callback"]):
        raise ValueError("oneTimeToken must be a boolean, and true only with a callback")
    data["_oneTimeToken"] = ott
    forward = fields.pop("forwardParameters", [])
    if not isinstance(forward, list) or not all(isinstance(p, str) for p in forward):
        raise ValueError("forwardParameters must be a list of strings")
    data["_forwardParameters"] = forward


def _features(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value):
        raise ValueError("featureScope must be a non-empty list of distinct FeatureEnum values")
    for item in value:
        if item not in FEATURES:
            raise ValueError(f"featureScope: {item!r} is not a Yapily FeatureEnum value")
    return [str(item) for item in value]


def _optional_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _instant(value: Any, default: datetime, name: str) -> datetime:
    if value is None:
        return default
    try:
        return instant(str(value))
    except ValueError:
        raise ValueError(f"{name} must be an RFC 3339 date-time, got {value!r}") from None


def _check_uuid(value: Any, name: str) -> None:
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a uuid, got {value!r}") from None


def seed_tenant(ctx: Context, credentials: JsonDict) -> None:
    """A fixture's `credentials: {secret: ...}`: the application's registered secret."""
    unknown = set(credentials) - {"secret"}
    secret = credentials.get("secret")
    if unknown or not isinstance(secret, str) or not secret:
        raise ValueError("give exactly {secret: <the application secret>}, a non-empty string")
    ctx.store.put_value(SECRET_NS, ctx.tenant, secret, None)


# -- credentials and errors ------------------------------------------------------------------------
def identify(ctx: Context) -> str:
    """The tenant is the Application ID; its first secret is registered, a different one is 401."""
    application, secret = ctx.credentials["basicAuth"]
    if not secret:
        raise ApiError(401, "unauthenticated", UNAUTHORIZED, code="empty_secret")
    registered = ctx.store.claim_value(SECRET_NS, application, secret, ctx.now)
    if not hmac.compare_digest(str(registered).encode(), str(secret).encode()):
        raise ApiError(401, "unauthenticated", UNAUTHORIZED, code="wrong_secret")
    return str(application)


# Spring's names where Python's differ (Yapily is a Spring service).
_STATUS_NAMES = {413: "PAYLOAD_TOO_LARGE", 422: "UNPROCESSABLE_ENTITY"}


def _status_name(status: int) -> str:
    if status in _STATUS_NAMES:
        return _STATUS_NAMES[status]
    try:
        return HTTPStatus(status).name
    except ValueError:
        return "UNKNOWN"


def tracing_id(request_id: str) -> str:
    try:
        return uuid.UUID(request_id).hex
    except ValueError:
        return uuid.uuid4().hex


def _describe(violation: Violation) -> str:
    """One request violation in words close to Yapily's."""
    name, path, message = violation.name, violation.schema_path, violation.message
    if violation.location == "path":
        return f"{name} must be a uuid"
    if name == "limit":
        return "limit must be between 1 and 1000"
    if name in ("from", "before"):
        return f"{name} must be a date-time like 2021-06-01T00:00:00.000+0000"
    if violation.location == "body":
        if path.endswith("anyOf"):
            return "Either userUuid or applicationUserId must be provided"
        if path.endswith("then/required"):
            return "callback is required when oneTimeToken is true"
        missing = re.match(r"'([^']+)' is a required property", message)
        if missing:
            field = f"{name}.{missing.group(1)}" if name else missing.group(1)
            return f"{field} is required"
        return f"{name or 'body'}: {message}"
    return f"{name}: {message}"


def _issues(err: ApiError, message: str) -> list[JsonDict]:
    """The V2 body's issues: one per request violation, else one for the error itself."""
    if err.kind == "invalid_request" and err.violations and not err.code:
        return [
            {
                "type": "INVALID_REQUEST",
                "code": "INVALID_PARAMETER" if v.location != "body" else _body_code(v),
                "parameter": _parameter(v),
                "message": _describe(v),
            }
            for v in err.violations
        ]
    kind = {404: "NOT_FOUND"}.get(err.status)
    kind = kind or ("SERVER_ERROR" if err.status >= 500 else "INVALID_REQUEST")
    issue: JsonDict = {"type": kind, "code": err.code or err.kind.upper()}
    if err.extra.get("parameter"):
        issue["parameter"] = err.extra["parameter"]
    issue["message"] = message
    return [issue]


def _body_code(violation: Violation) -> str:
    missing = violation.schema_path.endswith("required")
    return "MISSING_PROPERTY" if missing else "INVALID_PROPERTY_UNEXPECTED_VALUE"


def _parameter(violation: Violation) -> str:
    if violation.location != "body":
        return violation.name
    missing = re.match(r"'([^']+)' is a required property", violation.message)
    parts = [p for p in (violation.name, missing.group(1) if missing else "") if p]
    return "$." + ".".join(parts) if parts else "$"


def render_error(err: ApiError, scope: ErrorScope) -> Reply:
    """Yapily's legacy ApiResponseError; the V2 ApiErrorResponse for extendConsent (not 401)."""
    trace = tracing_id(scope.request_id)
    message = err.message
    if err.kind == "unauthenticated":
        message = UNAUTHORIZED
    elif err.kind == "invalid_request" and err.violations and not err.code:
        message = "; ".join(dict.fromkeys(_describe(v) for v in err.violations))
    elif err.kind == "malformed_body":
        message = f"Request body does not conform to the contract: {err.message}"
    headers = {"WWW-Authenticate": 'Basic realm="Yapily"'} if err.status == 401 else {}
    if scope.operation_id == "extendConsent" and err.status != 401:
        body: JsonDict = {
            "error": {
                "tracingId": trace,
                "code": err.status,
                "status": _status_name(err.status),
                "source": "YAPILY",
                "issues": _issues(err, message),
            }
        }
        return Reply(err.status, body, headers, media_type=MEDIA)
    error = {
        "code": err.status,
        "status": _status_name(err.status),
        "message": message,
        "tracingId": trace,
    }
    return Reply(err.status, {"error": error}, headers, media_type=MEDIA)


def _not_found(consent_id: str) -> ApiError:
    return ApiError(
        404,
        "not_found",
        f"Consent {consent_id} not found",
        code="CONSENT_NOT_FOUND",
        extra={"parameter": "consentId"},
    )


def _owned(ctx: Context) -> Record:
    record = ctx.fetch(str(ctx.path["consentId"]))
    if record is None:
        raise _not_found(str(ctx.path["consentId"]))
    return record


def _meta(ctx: Context) -> JsonDict:
    return {"tracingId": tracing_id(ctx.request_id)}


def _ok(status: int, body: JsonDict, location: str | None = None) -> Reply:
    return Reply(status, body, location=location, media_type=MEDIA)


# -- handlers: consents ----------------------------------------------------------------------------
@handlers
def get_consents(ctx: Context) -> Reply:
    query = ctx.query
    if not any(k in query for k in ("filter[applicationUserId]", "filter[userUuid]", "limit")):
        message = (
            "At least one of these filters filter[applicationUserId], filter[userUuid]=, "
            "limit= must be provided"
        )
        raise ApiError(
            400,
            "invalid_request",
            message,
            code="MISSING_FILTER",
            violations=[Violation("query", "limit", message)],
        )
    lower = query_instant(query["from"]) if "from" in query else None
    upper = query_instant(query["before"]) if "before" in query else None
    offset = int(query.get("offset", 0))
    limit = int(query.get("limit", 1000))
    statuses = query.get("filter[status]") or []
    # One status is served by the store's index; the other filters are checked here.
    status = statuses[0] if len(statuses) == 1 else None
    filtered = status is None and bool(statuses) or any(name in query for name in _FILTERS)
    records, total = ctx.listing(
        status=status,
        descending=True,
        offset=offset,
        limit=limit,
        keep=(lambda d: _matches(d, query, lower, upper)) if filtered else None,
    )
    page = [r.data for r in records]
    echo: JsonDict = {}
    if lower is not None:
        echo["from"] = stamp(lower)
    if upper is not None:
        echo["before"] = stamp(upper)
    if "limit" in query:
        echo["limit"] = limit
    pagination: JsonDict = {
        "totalCount": total,
        "self": {**echo, "sort": "-date", "offset": offset},
    }
    if offset + limit < total:
        pagination["next"] = {**echo, "cursor": str(offset + limit)}
    meta = {**_meta(ctx), "count": len(page), "pagination": pagination}
    return _ok(200, {"meta": meta, "data": [render_at(d, ctx.now) for d in page]})


_FILTERS = (
    "filter[applicationUserId]",
    "filter[userUuid]",
    "filter[institution]",
    "from",
    "before",
)


def order_key(data: JsonDict) -> str:
    """Lists show the newest first (`sort=-date`), ties by id (descending too)."""
    return sort_stamp(instant(data["createdAt"])) + str(data["id"])


def _matches(
    data: JsonDict, query: JsonDict, lower: datetime | None, upper: datetime | None
) -> bool:
    def wanted(name: str, value: Any, fold: bool = False) -> bool:
        if name not in query:
            return True
        values = [str(v).lower() if fold else v for v in query[name]]
        return (str(value).lower() if fold else value) in values

    created = instant(data["createdAt"])
    return (
        wanted("filter[applicationUserId]", data.get("applicationUserId"))
        and wanted("filter[userUuid]", data.get("userUuid"), fold=True)
        and wanted("filter[institution]", data.get("institutionId"))
        and wanted("filter[status]", data.get("status"))
        and (lower is None or created >= lower)
        and (upper is None or created <= upper)
    )


@handlers
def get_consent_by_id(ctx: Context) -> Reply:
    record = _owned(ctx)
    return _ok(200, {"meta": _meta(ctx), "data": render_at(record.data, ctx.now)})


@handlers
def delete_consent(ctx: Context) -> Reply:
    """Revoke (any status → REVOKED); the consent stays readable; a repeat answers the same."""
    record = _owned(ctx)

    def change(data: JsonDict) -> JsonDict:
        data.update(status="REVOKED", isDeletedByInstitution=True)
        return data

    if record.data.get("status") != "REVOKED" or not record.data.get("isDeletedByInstitution"):
        record = ctx.update(record, change)
    data = record.data
    shown = {"id": data["id"], "deleteStatus": "SUCCESS"}
    for key in ("institutionId", "institutionConsentId"):
        if data.get(key):
            shown[key] = data[key]
    shown["creationDate"] = data["createdAt"]
    return _ok(200, {"meta": _meta(ctx), "data": shown})


@handlers
def extend_consent(ctx: Context) -> Reply:
    record = _owned(ctx)
    status = status_of(record.data)
    if status != "AUTHORIZED":
        raise ApiError(
            400,
            "invalid_state",
            f"Consent status {status} cannot be reconfirmed; it must be AUTHORIZED",
            code="INVALID_CONSENT_STATUS",
        )
    confirmed = instant(ctx.body["lastConfirmedAt"])
    if confirmed > ctx.now:
        raise _bad_confirmation("lastConfirmedAt cannot be a future date and time")
    authorised = record.data.get("authorizedAt")
    if authorised and confirmed < instant(authorised):
        raise _bad_confirmation("lastConfirmedAt cannot be before the consent was authorised")

    def change(data: JsonDict) -> JsonDict:
        reconfirm = stamp(confirmed + CONSENT_LIFETIME)
        data.update(lastConfirmedAt=stamp(confirmed), reconfirmBy=reconfirm)
        if not data.get("_requestedExpiresAt"):
            data["expiresAt"] = reconfirm
        return data

    updated = ctx.update(record, change)
    return _ok(200, {"meta": _meta(ctx), "data": render_at(updated.data, ctx.now)})


def _bad_confirmation(message: str) -> ApiError:
    return ApiError(
        400,
        "invalid_request",
        message,
        code="INVALID_PROPERTY_UNEXPECTED_VALUE",
        extra={"parameter": "$.lastConfirmedAt"},
        violations=[Violation("body", "lastConfirmedAt", message)],
    )


# -- handlers: authorisation -----------------------------------------------------------------------
@handlers
def initiate_account_request(ctx: Context) -> Reply:
    body: JsonDict = ctx.body
    callback, redirect = body.get("callback"), (body.get("redirect") or {}).get("url")
    for name, url in (("callback", callback), ("redirect.url", redirect)):
        if url is not None and not _ABSOLUTE_URI.match(url):
            message = f"{name} must be an absolute URI"
            raise ApiError(
                400,
                "invalid_request",
                message,
                code="INVALID_URI",
                violations=[Violation("body", name.replace(".", "/"), message)],
            )
    try:
        user_uuid, app_user = resolve_user(ctx, body.get("userUuid"), body.get("applicationUserId"))
    except ValueError as exc:  # Yapily's 409: "conflict on create (e.g. users)"
        raise ApiError(409, "conflict", str(exc), code="USER_CONFLICT") from None
    consent_id = str(uuid.uuid4())
    data = new_consent(consent_id, body["institutionId"], user_uuid, app_user, ctx.now)
    request: JsonDict = body.get("accountRequest") or {}
    for name in ("transactionFrom", "transactionTo"):
        if name in request:
            data[name] = stamp(instant(request[name]))
    if request.get("featureScope"):
        data["featureScope"] = list(request["featureScope"])
    if "expiresAt" in request:
        data["_requestedExpiresAt"] = stamp(instant(request["expiresAt"]))
    data["_callback"], data["_redirectUrl"] = callback, redirect
    data["_oneTimeToken"] = bool(body.get("oneTimeToken"))
    data["_forwardParameters"] = list(body.get("forwardParameters") or [])
    record = ctx.insert(consent_id, data)
    shown = {
        k: v for k, v in render_at(record.data, ctx.now).items() if k != "isDeletedByInstitution"
    }
    shown["authorisationUrl"] = authorisation_url(ctx, data)
    shown["qrCodeUrl"] = f"{ctx.sandbox_url}/qr/{consent_id}"
    return _ok(201, {"meta": _meta(ctx), "data": shown}, location=f"/consents/{consent_id}")


def _exchange(ctx: Context, namespace: str, key: str, state: str | None, what: str) -> Record:
    """Take a single-use code or token of this application; unknown, foreign or used → 404."""
    entry = ctx.store.get_value(namespace, key, ctx.now)
    refused = ApiError(404, "not_found", f"{what} not found or already used", code="NOT_FOUND")
    if not entry or entry.get("tenant") != ctx.tenant:
        raise refused
    if state is not None and entry.get("state") != state:
        raise refused
    if not ctx.store.take_value(namespace, key, ctx.now):
        raise refused  # a concurrent exchange took it first
    record = ctx.fetch(str(entry["consentId"]))
    if record is None:
        raise refused
    return record


@handlers
def exchange_consent_auth_code(ctx: Context) -> Reply:
    body: JsonDict = ctx.body
    record = _exchange(ctx, CODE_NS, body["authCode"], body["authState"], "Authorisation code")
    return _ok(200, render_at(record.data, ctx.now))


@handlers
def exchange_one_time_token(ctx: Context) -> Reply:
    record = _exchange(ctx, OTT_NS, ctx.body["oneTimeToken"], None, "One-time token")
    return _ok(201, render_at(record.data, ctx.now), location=f"/consents/{record.id}")


# -- the sandbox authorisation page ----------------------------------------------------------------
def callback_params(ctx: Context, data: JsonDict, approved: bool) -> tuple[str, dict[str, str]]:
    """Where the browser goes after the decision, and with which query parameters."""
    url, params = _callback_params(ctx, data, approved)
    if data.get("_callback"):  # forwardParameters go to the callback; ours win a name clash
        for item in data.get("_forwardParameters") or ():
            name, _, value = str(item).partition("=")
            params.setdefault(name, value)
    return url, params


def _callback_params(ctx: Context, data: JsonDict, approved: bool) -> tuple[str, dict[str, str]]:
    user = {
        "application-user-id": data.get("applicationUserId") or "",
        "user-uuid": data.get("userUuid") or "",
        "institution": data.get("institutionId") or "",
    }
    user = {k: v for k, v in user.items() if v}
    if data.get("_callback"):
        if not approved:
            refused = {
                "error": "access_denied",
                "error-source": "user",
                "error-description": "The user rejected the authorisation request",
            }
            return data["_callback"], {**refused, **user}
        if data.get("_oneTimeToken"):
            ott = sign_token({"INSTITUTION": data.get("institutionId"), "UUID": str(uuid.uuid4())})
            entry = {"tenant": ctx.tenant, "consentId": data["id"]}
            ctx.store.put_value(OTT_NS, ott, entry, ctx.now + CODE_LIFETIME)
            return data["_callback"], {"one-time-token": ott}
        return data["_callback"], {"consent": data["consentToken"], **user}
    if data.get("_redirectUrl"):
        if not approved:
            return data["_redirectUrl"], {
                "error": "access_denied",
                "error_description": "The user rejected the authorisation request",
                "state": data["state"],
            }
        code = str(uuid.uuid4())
        entry = {"tenant": ctx.tenant, "consentId": data["id"], "state": data["state"]}
        ctx.store.put_value(CODE_NS, code, entry, ctx.now + CODE_LIFETIME)
        return data["_redirectUrl"], {"code": code, "state": data["state"]}
    return "", {}


def _institution(data: JsonDict) -> str:
    institution = str(data.get("institutionId") or "")
    return INSTITUTIONS.get(institution, institution)


def sandbox(kit: Kit) -> None:
    """The bank's authorisation page: /__sandbox/yapily/authorise/<consentId>?state=<state>."""

    @kit.route("/authorise/<consent_id>")
    def authorise(consent_id: str) -> Any:
        record = kit.find(consent_id)
        if record is None:
            return kit.error_page("Authorisation not found", "This request does not exist.", 404)
        if not hmac.compare_digest(str(kit.args().get("state", "")), str(record.data["state"])):
            return kit.error_page(
                "Link invalid", "This authorisation link is invalid: its state does not match.", 403
            )
        status = status_of(record.data)
        if "AUTHORIZED" not in TRANSITIONS[status]:
            return kit.error_page("Already answered", f"This request is {status}.", 409)
        ctx = kit.context(record.tenant)
        journey = secrets.token_urlsafe(16)
        ctx.store.put_value(JOURNEY_NS, journey, consent_id, ctx.now + JOURNEY_LIFETIME)
        features = Markup("").join(
            Markup("<li>{}</li>").format(f.replace("_", " ").lower())
            for f in record.data.get("featureScope") or ()
        )
        body = Markup(
            "<p class='lead'>Yapily asks {bank} for access to your accounts.</p>"
            "<dl><dt>Bank</dt><dd id='institution'>{bank} ({institution})</dd>"
            "<dt>User</dt><dd id='user'>{user}</dd>"
            "<dt>Consent</dt><dd id='consent'>{consent}</dd></dl>"
            "<fieldset><legend>Access requested</legend><ul>{features}</ul></fieldset>"
            "<form method='post' action='{consent}/decision'>"
            "<input type='hidden' name='journey' value='{journey}'>"
            "<div class='actions'>"
            "<button class='primary' type='submit' name='decision' value='approve'>Approve</button>"
            "<button class='danger' type='submit' name='decision' value='reject'>Reject</button>"
            "</div></form>"
        ).format(
            bank=_institution(record.data),
            institution=record.data.get("institutionId"),
            user=record.data.get("applicationUserId") or record.data.get("userUuid"),
            consent=consent_id,
            features=features,
            journey=journey,
        )
        return kit.page("Authorise account access", body)

    @kit.route("/authorise/<consent_id>/decision", methods=("POST",))
    def decide(consent_id: str) -> Any:
        record = kit.find(consent_id)
        if record is None:
            return kit.error_page("Authorisation not found", "This request does not exist.", 404)
        ctx = kit.context(record.tenant)
        journey = ctx.store.take_value(JOURNEY_NS, kit.form().get("journey", ""), ctx.now)
        if journey != consent_id:
            return kit.error_page("Session expired", "Open the authorisation link again.", 403)
        choice = kit.form().get("decision")
        if choice not in ("approve", "reject"):
            return kit.error_page("Unknown decision", "Choose Approve or Reject.", 400)
        approved = choice == "approve"
        try:
            moved = kit.move(consent_id, "AUTHORIZED" if approved else "REJECTED")
        except TransitionRefused as refused:
            return kit.error_page("Cannot answer", str(refused), 409)
        if moved is None:
            return kit.error_page("Authorisation not found", "This request does not exist.", 404)
        url, params = callback_params(ctx, moved.data, approved)
        if not url:
            outcome = "authorised" if approved else "rejected"
            return kit.page(
                "All done",
                Markup("<p class='lead'>Access {}. You can close this window.</p>").format(outcome),
            )
        return kit.redirect_to(url, params)

    @kit.route("/qr/<consent_id>")
    def qr_code(consent_id: str) -> Any:
        record = kit.find(consent_id)
        if record is None:
            return kit.error_page("Authorisation not found", "This request does not exist.", 404)
        link = f"../authorise/{consent_id}?state={record.data['state']}"
        body = Markup(
            "<p class='lead'>The sandbox draws no QR code: open this link on the device.</p>"
            "<p><a href='{}'>Authorise at {}</a></p>"
        ).format(link, _institution(record.data))
        return kit.page("Authorise on another device", body)


PROVIDER = ProviderDef(
    name="yapily",
    title="Yapily",
    spec_file="yapily.yaml",
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
    default_tenant="sandbox-yapily-app",
    credentials_doc=(
        "HTTP Basic `sandbox-yapily-app:sandbox-yapily-secret` (Application ID : Application "
        "Secret; the first secret an Application ID sends is registered, another one is 401)."
    ),
    secret_fields=frozenset({"authcode", "onetimetoken"}),
    approved="AUTHORIZED",
    rejected="REJECTED",
    sandbox=sandbox,
    seed_tenant=seed_tenant,
)
