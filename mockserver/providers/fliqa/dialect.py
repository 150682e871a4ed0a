"""Fliqa's credentials, errors, and checks of phone numbers, e-mail addresses and IBANs."""

from __future__ import annotations

import re
from datetime import timedelta

from ... import kit
from . import inquiry

_SEPARATORS = " -.()"
_EMAIL = re.compile(r"^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$")
# errorCode → {sub-code → errorMessage}: each sub-code the simulator answers, as the spec says.
SUB_CODES: dict[str, dict[str, str]] = kit.spec_schema("fliqa.yaml", "ErrorSubCode")["x-messages"]


def phone_problem(value: str) -> str | None:
    """The seed's sub-code for a malformed phone number (rules in the spec's Msisdn)."""
    if len(value) > 250:
        return "string_supplied_was_too_long_to_parse"
    if not value.startswith("+"):
        return "phone_number_start_with_plus_and_country"
    rest = value[1:]
    if any(not (c.isascii() and c.isdigit()) and c not in _SEPARATORS for c in rest):
        return "supplied_string_not_phone_number"
    number = digits(rest)
    if not number or number[0] == "0":
        return "could_not_interpret_numbers_after_plus"
    if len(number) < 5:
        return "string_supplied_too_short_to_be_phone_number"
    if len(number) > 17:
        return "string_supplied_too_long_to_be_phone_number"
    if not 8 <= len(number) <= 15:
        return "phone_number_invalid"
    return None


def contact(body: kit.JsonDict) -> tuple[str, str]:
    """The phone number and e-mail of a login or create request, validated ('' if absent)."""
    msisdn, email = str(body.get("msisdn") or ""), str(body.get("email") or "")
    if not msisdn and not email:
        raise refused("email_or_phone_number_required")
    if msisdn and (problem := phone_problem(msisdn)):
        raise refused(problem)
    if email and not _EMAIL.match(email):
        raise refused("email_invalid")
    return msisdn, email


def owner(msisdn: str, email: str) -> kit.JsonDict:
    return {k: v for k, v in (("msisdn", msisdn), ("email", email)) if v}


def digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def recipients(tenant: str, msisdn: str, email: str) -> list[str]:
    """The OTP keys of a phone number (digits only) and an e-mail (case-folded)."""
    keys = [f"{tenant}|sms:+{digits(msisdn)}"] if msisdn else []
    return keys + ([f"{tenant}|email:{email.casefold()}"] if email else [])


DOCS = "https://documentation.fliqa.io/api/errors"
# Api-Key → {secret, environment, tenantSlug, scope}. Tokens are stored with their expiry (so
# the store, Redis by its TTL, drops them), at most TOKENS_PER_KEY per Api-Key (a new one
# retires the oldest: a client asking for tokens in a loop cannot grow the store), and one
# presented after its expiry is deleted.
KEYS = kit.FirstSecret("fliqa:key")
TOKENS_PER_KEY = 1000
TOKENS = kit.Tokens("fliqa:token", timedelta(seconds=360), per_tenant=TOKENS_PER_KEY, issuer=KEYS)
registries = (KEYS,)
TOKEN_SCOPES = kit.spec_enum("fliqa.yaml", "TokenScope")
DEFAULT_TOKEN_SCOPE = ["account_owner", "account_info"]


def fail(
    status: int, code: str, message: str, sub: str | None = None, resource: str | None = None
) -> kit.ApiError:
    extra = {k: v for k, v in (("errorSubCode", sub), ("resourceId", resource)) if v}
    return kit.ApiError(status, code, message, code=code, extra=extra)


def refused(sub: str, **values: str) -> kit.ApiError:
    """The error of a sub-code: its errorCode, status and errorMessage (`values` filled in)."""
    code = next(code for code, subs in SUB_CODES.items() if sub in subs)
    status = next(status for status, named in _STATUS_CODES.items() if named == code)
    return fail(status, code, SUB_CODES[code][sub].format(**values), sub)


def identify(ctx: kit.Context) -> str:
    """getToken: the Api-Key is the tenant. Other calls: the tenant the token was issued to,
    while the token is live on that tenant's clock."""
    if "ApiKey" in ctx.credentials:
        key = str(ctx.credentials["ApiKey"])
        if KEYS.refuses(ctx, key, str(ctx.credentials["ApiSecret"])):
            raise refused("not_authorized")
        return key
    return TOKENS.bearer(ctx, "BearerAuth", lambda: refused("access_token_expired"))


def seed_tenant(ctx: kit.Context, credentials: kit.JsonDict) -> None:
    """Register a tenant's Api-Secret, environment, tenant slug and token scope."""
    allowed = ("apiSecret", "environment", "tenantSlug", "scope", "inquiries", "company")
    kit.refuse_unknown(
        set(credentials) - set(allowed), ", ".join(allowed), "unknown credential fields"
    )
    secret, slug = credentials.get("apiSecret"), credentials.get("tenantSlug")
    environment = credentials.get("environment", "sandbox")
    scope = credentials.get("scope", DEFAULT_TOKEN_SCOPE)
    if not isinstance(secret, str) or not secret or not isinstance(slug, str) or not slug:
        raise ValueError("apiSecret and tenantSlug are required non-empty strings")
    environments = kit.spec_enum("fliqa.yaml", "Environment")
    if environment not in environments:
        raise ValueError(f"environment must be one of {', '.join(environments)}")
    if not isinstance(scope, list) or not set(scope) <= set(TOKEN_SCOPES):
        raise ValueError(f"scope must be a list of {', '.join(TOKEN_SCOPES)}")
    KEYS.register(ctx, ctx.tenant, secret, environment=environment, tenantSlug=slug, scope=scope)
    inquiry.seed(ctx, credentials.get("inquiries"), credentials.get("company"))


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


def render_error(err: kit.ApiError, scope: kit.ErrorScope) -> kit.Reply:
    """Fliqa's error body, for the provider's own refusals and the engine's alike."""
    code = kit.error_code(err, _KIND_CODES, _STATUS_CODES, "other")
    sub, message = err.extra.get("errorSubCode"), err.message
    if err.kind == "unauthenticated":  # the operation's credentials: a key and secret, or a token
        sub = "authorization_header_must_be_provided"
        if scope.operation_id == "getToken":
            sub = "api_key_secret_header_must_be_provided"
        message = SUB_CODES["unauthorized"][sub]
    elif err.kind == "invalid_request":
        message = _invalid_message(err.violations, scope.operation_id)
    body: kit.JsonDict = {"errorMessage": message, "errorCode": code}
    if sub:
        body["errorSubCode"] = sub
    body["documentationUrl"] = f"{DOCS}/{code}" + (f"#{sub}" if sub else "")
    body["requestId"] = scope.request_id.replace("-", "")
    if err.extra.get("resourceId"):
        body["resourceId"] = err.extra["resourceId"]
    return kit.Reply(err.status, body, media_type="application/json")


def _invalid_message(violations: list[kit.Violation], operation_id: str | None) -> str:
    parts: list[str] = []
    for v in violations:
        missing = kit.missing_property(v)
        if v.location == "body" and missing and v.schema_path.endswith("required"):
            if operation_id == "createConsent" and not v.name:  # the seed's text for providerId
                return f"Missing consent '{'provider' if missing == 'providerId' else missing}'!"
            parts.append(f"Missing parameter '{'/'.join(filter(None, (v.name, missing)))}'")
        elif v.location == "body" and not v.name:
            parts.append(f"Invalid request body: {v.message}")
        else:
            parts.append(f"Invalid parameter '{v.name or v.location}': {v.message}")
    return "; ".join(parts) or "Invalid parameter"
