"""Finqware's credentials in the JSON body, its error body and its operations."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta

from ... import kit
from . import consent

TENANTS = kit.FirstSecret(consent.TENANT_NS)
# client_app_key starts sessions (FACTS.md §2.1: safe in a client app); registered like the secret.
APP_KEYS = kit.FirstSecret("finqware:app_key")
registries = (TENANTS, APP_KEYS)
# The invalid_request code of a credential field that is not a non-empty string, in check order.
FIELD_CODES = {
    "client_id": "invalid_client_id",
    "client_secret": "invalid_client_secret",
    "credentials_id": "invalid_credentials_id",
    "access_token": "invalid_access_token",
    "temp_token": "invalid_field",
    "client_app_key": "invalid_field",
    "tenant_user_id": "invalid_field",
    "nonce": "invalid_field",
    "skill": "invalid_skill_name",
    "step": "invalid_step",
}


def bad(code: str, message: str) -> kit.ApiError:
    return kit.ApiError(400, "invalid_request", message, code=code)


def unauthorized(code: str, message: str) -> kit.ApiError:
    return kit.ApiError(401, "unauthorized", message, code=code)


# Each operation's body as the spec declares it, checked in the documented order (identify).
BODY = kit.BodyFields(
    kit.spec_bodies("finqware.yaml"),
    FIELD_CODES,
    bad,
    {
        "pcd_data_retention": (
            "invalid_pcd_data_retention",
            lambda value: consent.retention_of(value) is not None,
            "pcd_data_retention must be an integer number of minutes, 0 to "
            f"{consent.MAX_RETENTION}",
        )
    },
)


def seed_tenant(ctx: kit.Context, credentials: kit.JsonDict) -> None:
    """Fixture `credentials: {client_secret, name, client_app_key?}` register the tenant (and
    the key its sessions start with) before any call."""
    unknown = set(credentials) - {"client_secret", "name", "client_app_key"}
    if unknown:
        raise ValueError(
            f"unknown fields {', '.join(sorted(unknown))}; "
            "allowed: client_secret, name, client_app_key"
        )
    if "client_app_key" in credentials:
        app_key = kit.text(credentials["client_app_key"], "client_app_key")
        if APP_KEYS.refuses(ctx, ctx.tenant, app_key):
            raise ValueError(f"client_id {ctx.tenant!r} has another client_app_key")
        APP_KEYS.register(ctx, ctx.tenant, app_key)
    secret = kit.text(credentials.get("client_secret"), "client_secret")
    name = kit.text(credentials.get("name", ctx.tenant), "name")
    if TENANTS.refuses(ctx, ctx.tenant, secret):
        raise ValueError(f"client_id {ctx.tenant!r} is already registered with another secret")
    TENANTS.register(ctx, ctx.tenant, secret, name=name)


def identify(ctx: kit.Context) -> str:
    """Check the body's fields in the documented order; the tenant is the client_id."""
    body, required = BODY.check(ctx)
    client_id = str(body["client_id"])
    if "client_secret" in required:
        if TENANTS.claim(ctx, client_id, str(body["client_secret"]), name=client_id) is None:
            if TENANTS.entry(ctx, client_id) is None:  # `serve --credentials registered`
                raise unauthorized("invalid_client_id", "Unknown client_id")
            raise unauthorized("invalid_client_secret", "Invalid client_secret for this client_id")
    elif (
        "client_app_key" in required
        and APP_KEYS.claim(ctx, client_id, str(body["client_app_key"])) is None
    ):
        raise unauthorized("invalid_client_app_key", "Invalid client_app_key for this client_id")
    return client_id  # a session step: the session's nonce is the credential (session.py)


# Engine kinds → (type, code). The HTTP status stays the engine's, except 415 (see render_error).
_KIND_CODES = {
    "malformed_body": "invalid_body",
    "unsupported_media_type": "invalid_body",
    "payload_too_large": "invalid_body",
    "route_not_found": "not_found",
    "method_not_allowed": "not_found",
    "unauthenticated": "invalid_client_id",
    "precondition_required": "invalid_headers",
    "precondition_failed": "invalid_headers",
}
_FAULT_CODES = {401: "unauthorized_tenant", 404: "not_found", 429: "external_api_too_many_requests"}
_FAULT_CODES |= dict.fromkeys(range(500, 600), "internal_error")  # any other 5xx


def render_error(err: kit.ApiError, scope: kit.ErrorScope) -> kit.Reply:
    """`{id, type, http, code, message}`; the id is the request's id, as in the journal."""
    # A body that is not JSON is invalid_body, Finqware's only answer to it.
    status = 400 if err.kind == "unsupported_media_type" else err.status
    if err.code is None and err.kind == "invalid_request":
        code = BODY.code_of(err, "invalid_field")  # a safety net: identify checks first
    else:
        code = kit.error_code(err, _KIND_CODES, _FAULT_CODES, "invalid_input")
    kind = "unauthorized" if status == 401 else "invalid_request"
    if code == "internal_error":
        kind = code
    elif code == "external_api_too_many_requests":
        kind = "external_api_error"
    body = {"id": scope.request_id, "type": kind, "http": status, "code": code}
    return kit.Reply(status, {**body, "message": err.message}, media_type="application/json")


# → {tenant, skill}; until exchanged or 30 minutes (as the session's nonce, FACTS-2 §5.2), at
# most 100 unexchanged per client_id (issue #18: nothing a page hands out grows without bound).
TEMP_TOKENS = kit.Tickets("finqware:temp_token", timedelta(minutes=30), per_owner=100)

handlers = kit.Handlers()


def issue_temp_token(ctx: kit.Context, skill: str) -> str:
    """What a finished onboarding session hands the tenant app's front end."""
    state = {"tenant": ctx.tenant, "skill": skill}
    return TEMP_TOKENS.issue(ctx, state, consent.token(), owner=ctx.tenant)


@handlers
def create_token(ctx: kit.Context) -> kit.Reply:
    """Exchange a temp_token once, for the tenant whose onboarding issued it."""
    entry = TEMP_TOKENS.take(ctx, str(ctx.body["temp_token"]), tenant=ctx.tenant)
    if not entry:
        raise unauthorized("invalid_temp_token", "The temp_token is unknown or already exchanged")
    credentials_id, access_token = str(uuid.uuid4()), consent.token()
    data = consent.new_consent(
        credentials_id, access_token, entry["skill"], ctx.tenant, consent.tenant_name(ctx), ctx.now
    )
    ctx.insert(credentials_id, data)
    shown = {"credentials_id": credentials_id, "access_token": access_token}
    shown |= {k: data[k] for k in ("consent_exp", "max_data_retention")}
    return kit.Reply(200, shown)


def _consent(ctx: kit.Context) -> kit.Record:
    """The consent named by credentials_id, if this tenant owns it and access_token is its own."""
    record = ctx.fetch(str(ctx.body["credentials_id"]))
    if record is None:
        raise unauthorized("invalid_credentials_id", "Unknown credentials_id")
    if not kit.same_secret(record.data["_access_token"], ctx.body["access_token"]):
        raise unauthorized("invalid_access_token", "Invalid access_token for this credentials_id")
    return record


@handlers
def get_consent(ctx: kit.Context) -> kit.Reply:
    body = {"op_type": "read", "code": "credentials_info", "http": 200}
    body |= {"message": "Consent info retrieved", "result": consent.render(_consent(ctx).data)}
    return kit.Reply(200, body)


@handlers
def delete_consent(ctx: kit.Context) -> kit.Reply:
    """ACTIVE → DELETED; idempotent; pcd_data_retention counts from when it stopped being ACTIVE."""
    record = _consent(ctx)
    retention = consent.retention_of(ctx.body.get("pcd_data_retention"))  # None: not given

    def change(data: kit.JsonDict) -> kit.JsonDict:
        if data["status"] == "ACTIVE":
            consent.end(data, "DELETED", ctx.now)
        if retention is not None:
            ended = kit.parse_instant(data.get("_ended_at") or data["utc_last_update"])
            try:
                data["max_data_retention"] = consent.minutes_after(ended, retention)
            except ValueError as exc:
                raise bad("invalid_pcd_data_retention", str(exc)) from None
        return data

    if change(copy.deepcopy(record.data)) != record.data:
        record = ctx.update(record, change)
    data = record.data
    result = {"client_id": data["tenant_app_info"]["client_id"]}
    result |= {k: data[k] for k in ("credentials_id", "max_data_retention")}
    body = {"op_type": "delete", "code": "credentials_deleted", "http": 200}
    return kit.Reply(200, {**body, "message": "Consent deleted", "result": result})
