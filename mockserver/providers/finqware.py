"""Finqware v1: credentials in the JSON body, per-consent tokens, a temp_token exchange."""

from __future__ import annotations

import copy
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import jsonify
from markupsafe import Markup

from ..behaviour import AdminCreated, ApiError, Context, ErrorScope, Handlers, ProviderDef, Reply
from ..clock import format_instant, parse_instant
from ..sandbox import Kit, is_http_url

JsonDict = dict[str, Any]

# Sandbox bank skills (seed; FACTS.md §2.1) → (country, servicer) for `originator`.
SKILLS: dict[str, tuple[str, str]] = {
    "rzb_ro_aisp_sbx_#1.0": ("Romania", "Raiffeisen Bank Romania"),
    "bt_ro_aisp_sbx_#2.0": ("Romania", "Banca Transilvania"),
}
DEFAULT_SKILL = "rzb_ro_aisp_sbx_#1.0"
CONSENT_DURATION = timedelta(days=90)  # consent_duration default, 129600 min (FACTS.md §2.3)
CACHE_RETENTION = timedelta(days=120)  # cache_max_data_retention default, 172800 min
MAX_RETENTION = 2147483647
TENANT_NS = "finqware:tenant"  # client_id → {client_secret, name}
TEMP_NS = "finqware:temp_token"  # temp_token → {tenant, skill}; no expiry, single use
JOURNEY_NS = "finqware:journey"
JOURNEY_LIFETIME = timedelta(hours=1)
STATUSES = ("ACTIVE", "DELETED", "EXPIRED")
CONSENT_FIELDS = ("client_id", "client_secret", "credentials_id", "access_token")
REQUIRED: dict[str, tuple[str, ...]] = {
    "createToken": ("client_id", "client_secret", "temp_token"),
    "getConsent": CONSENT_FIELDS,
    "deleteConsent": CONSENT_FIELDS,
}
OPTIONAL: dict[str, tuple[str, ...]] = {"deleteConsent": ("pcd_data_retention",)}
# The invalid_request code of a credential field that is not a non-empty string, in check order.
FIELD_CODES = {
    "client_id": "invalid_client_id",
    "client_secret": "invalid_client_secret",
    "credentials_id": "invalid_credentials_id",
    "access_token": "invalid_access_token",
    "temp_token": "invalid_field",
}

handlers = Handlers()


# -- the consent and its lifecycle ----------------------------------------------------------------
def render(data: JsonDict) -> JsonDict:
    """The consent as `result` of /v1/consents/get shows it: bookkeeping (`_...`) removed."""
    return {key: value for key, value in data.items() if not key.startswith("_")}


def status_of(data: JsonDict) -> str:
    return str(data["status"])


def parse_status(value: Any) -> str | None:
    text = str(value).strip().upper()
    return text if text in STATUSES else None


def lifecycle(data: JsonDict, now: datetime) -> JsonDict | None:
    """ACTIVE becomes EXPIRED exactly at consent_exp; records are never purged."""
    if data["status"] != "ACTIVE" or now < parse_instant(data["consent_exp"]):
        return data
    stamp = data["consent_exp"]
    return {**data, "status": "EXPIRED", "utc_last_update": stamp, "_ended_at": stamp}


def deadline(data: JsonDict) -> datetime | None:
    """An ACTIVE consent expires at consent_exp; nothing else changes on its own."""
    return parse_instant(data["consent_exp"]) if data["status"] == "ACTIVE" else None


TRANSITIONS: dict[str, tuple[str, ...]] = {
    "ACTIVE": ("DELETED", "EXPIRED"),
    "DELETED": (),
    "EXPIRED": (),
}


def new_consent(
    credentials_id: str, access_token: str, skill: str, tenant: str, name: str, at: datetime
) -> JsonDict:
    """An ACTIVE consent as the token exchange creates it at `at`."""
    country, servicer = SKILLS[skill]
    stamp = format_instant(at)
    return {
        "credentials_id": credentials_id,
        "originator": {"country": country, "servicer": servicer, "skill": skill},
        "status": "ACTIVE",
        "tenant_app_info": {"client_id": tenant, "name": name},
        "utc_created": stamp,
        "utc_last_update": stamp,
        "consent_exp": format_instant(at + CONSENT_DURATION),
        "max_data_retention": format_instant(at + CACHE_RETENTION),
        "_access_token": access_token,
        "_ended_at": None,
    }


def end(data: JsonDict, to: str, at: datetime, retention: int | None = None) -> JsonDict:
    """ACTIVE → DELETED or EXPIRED at `at`; `retention` minutes from then set max_data_retention."""
    stamp = format_instant(at)
    if to == "EXPIRED" and parse_instant(data["consent_exp"]) > at:
        data["consent_exp"] = stamp  # expired early (admin): consent_exp is when it happened
    data.update(status=to, utc_last_update=stamp, _ended_at=stamp)
    if retention is not None:
        data["max_data_retention"] = _after(at, retention)
    return data


def transition(data: JsonDict, to: str, now: datetime, options: JsonDict) -> JsonDict:
    unknown = set(options) - {"pcd_data_retention"}
    if unknown:
        raise ValueError(
            f"unknown transition options: {', '.join(sorted(unknown))}; allowed: "
            "pcd_data_retention (minutes from now until max_data_retention)"
        )
    return end(data, to, now, _admin_retention(options.get("pcd_data_retention")))


def admin_create(ctx: Context, fields: JsonDict) -> AdminCreated:
    """A consent in any status, with the defaults a token exchange (and then delete) gives."""
    fields = dict(fields)
    status = fields.pop("status")
    credentials_id = _text(
        fields.pop("credentials_id", None) or str(uuid.uuid4()), "credentials_id"
    )
    access_token = _text(fields.pop("access_token", None) or _token(), "access_token")
    skill = fields.pop("skill", DEFAULT_SKILL)
    if skill not in SKILLS:
        raise ValueError(f"skill {skill!r} is not a sandbox skill; known: {', '.join(SKILLS)}")
    name = _text(fields.pop("name", None) or tenant_name(ctx), "name")
    # An EXPIRED consent by default expired just now, at the end of its 90 days.
    default_created = ctx.now - CONSENT_DURATION if status == "EXPIRED" else ctx.now
    created = _instant(fields.pop("utc_created", None), default_created, "utc_created")
    data = new_consent(credentials_id, access_token, skill, ctx.tenant, name, created)
    for key in ("consent_exp", "max_data_retention"):
        if key in fields:
            data[key] = format_instant(_instant(fields.pop(key), created, key))
    if parse_instant(data["consent_exp"]) < created:
        raise ValueError("consent_exp must not be before utc_created")
    default_end = max(created, min(ctx.now, parse_instant(data["consent_exp"])))
    ended = _instant(fields.pop("utc_last_update", None), default_end, "utc_last_update")
    retention = _admin_retention(fields.pop("pcd_data_retention", None))
    if fields:
        raise ValueError(
            f"unknown consent fields: {', '.join(sorted(fields))}; allowed: credentials_id, "
            "access_token, skill, name, utc_created, utc_last_update, consent_exp, "
            "max_data_retention, pcd_data_retention, status"
        )
    if status != "ACTIVE":
        if ended < created:
            raise ValueError("utc_last_update must not be before utc_created")
        end(data, status, ended, retention)
    elif retention is not None:
        raise ValueError("pcd_data_retention applies only to a DELETED or EXPIRED consent")
    secrets_shown = {"credentials_id": credentials_id, "access_token": access_token}
    return AdminCreated(credentials_id, data, secrets_shown)


def _after(at: datetime, minutes: int) -> str:
    try:
        return format_instant(at + timedelta(minutes=minutes))
    except OverflowError:
        raise ValueError(f"{minutes} minutes after {format_instant(at)} is out of range") from None


def retention_of(value: Any) -> int | None:
    """pcd_data_retention as whole minutes 0..2147483647 (5.0 is 5), or None when invalid."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    minutes = int(value)
    return minutes if 0 <= minutes <= MAX_RETENTION else None


def _admin_retention(value: Any) -> int | None:
    if value is None:
        return None
    minutes = retention_of(value)
    if minutes is None:
        raise ValueError(f"pcd_data_retention must be an integer 0..{MAX_RETENTION}, got {value!r}")
    return minutes


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _instant(value: Any, default: datetime, name: str) -> datetime:
    if value is None:
        return default
    try:
        return parse_instant(str(value))
    except ValueError:
        raise ValueError(f"{name} must be an RFC 3339 date-time, got {value!r}") from None


def _token() -> str:
    return secrets.token_urlsafe(32)


# -- tenants: client_id, the first client_secret seen, a name -------------------------------------
def tenant_name(ctx: Context) -> str:
    registered = ctx.store.get_value(TENANT_NS, ctx.tenant, ctx.now)
    return str(registered["name"]) if registered else ctx.tenant


def seed_tenant(ctx: Context, credentials: JsonDict) -> None:
    """Fixture `credentials: {client_secret, name}` register the tenant before any call."""
    unknown = set(credentials) - {"client_secret", "name"}
    if unknown:
        raise ValueError(
            f"unknown fields {', '.join(sorted(unknown))}; allowed: client_secret, name"
        )
    secret = _text(credentials.get("client_secret"), "client_secret")
    name = _text(credentials.get("name", ctx.tenant), "name")
    registered = ctx.store.get_value(TENANT_NS, ctx.tenant, ctx.now)
    if registered and registered["client_secret"] != secret:
        raise ValueError(f"client_id {ctx.tenant!r} is already registered with another secret")
    ctx.store.put_value(TENANT_NS, ctx.tenant, {"client_secret": secret, "name": name}, None)


def identify(ctx: Context) -> str:
    """Check the body's fields in the documented order; the tenant is the client_id."""
    body = ctx.body
    if not isinstance(body, dict):
        raise _bad("invalid_body", "The request body must be a JSON object.")
    required = REQUIRED.get(ctx.operation_id, ())
    allowed = required + OPTIONAL.get(ctx.operation_id, ())
    missing = [name for name in required if name not in body]
    if missing:
        raise _bad("missing_fields", f"Missing fields: {', '.join(missing)}")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise _bad("unknown_fields", f"Unknown fields: {', '.join(unknown)}")
    for name, code in FIELD_CODES.items():
        if name in body and (not isinstance(body[name], str) or not body[name]):
            raise _bad(code, f"{name} must be a non-empty string")
    if "pcd_data_retention" in body and retention_of(body["pcd_data_retention"]) is None:
        raise _bad(
            "invalid_pcd_data_retention",
            f"pcd_data_retention must be an integer number of minutes, 0 to {MAX_RETENTION}",
        )
    client_id, secret = str(body["client_id"]), str(body["client_secret"])
    entry = {"client_secret": secret, "name": client_id}
    registered = ctx.store.claim_value(TENANT_NS, client_id, entry, ctx.now)
    if not hmac.compare_digest(str(registered["client_secret"]).encode(), secret.encode()):
        raise _unauthorized("invalid_client_secret", "Invalid client_secret for this client_id")
    return client_id


# -- errors ---------------------------------------------------------------------------------------
def _bad(code: str, message: str) -> ApiError:
    return ApiError(400, "invalid_request", message, code=code)


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, code=code)


# Engine kinds → (type, code). The HTTP status stays the engine's, except 415 (see render_error).
_KIND_CODES = {
    "malformed_body": ("invalid_request", "invalid_body"),
    "unsupported_media_type": ("invalid_request", "invalid_body"),
    "payload_too_large": ("invalid_request", "invalid_body"),
    "route_not_found": ("invalid_request", "not_found"),
    "method_not_allowed": ("invalid_request", "not_found"),
    "unauthenticated": ("unauthorized", "invalid_client_id"),
    "precondition_required": ("invalid_request", "invalid_headers"),
    "precondition_failed": ("invalid_request", "invalid_headers"),
}
_FAULT_CODES = {
    400: ("invalid_request", "invalid_input"),
    401: ("unauthorized", "unauthorized_tenant"),
    404: ("invalid_request", "not_found"),
    429: ("external_api_error", "external_api_too_many_requests"),
}


def render_error(err: ApiError, scope: ErrorScope) -> Reply:
    """`{id, type, http, code, message}`; the id is the request's id, as in the journal."""
    status = err.status
    if err.kind == "unsupported_media_type":
        status = 400  # a body that is not JSON is invalid_body, Finqware's only answer to it
    if err.code is not None:
        kind, code = ("unauthorized" if status == 401 else "invalid_request"), err.code
    elif err.kind == "invalid_request":
        kind, code = "invalid_request", _violation_code(err)
    elif err.kind in _KIND_CODES:
        kind, code = _KIND_CODES[err.kind]
    elif status >= 500:
        kind, code = "internal_error", "internal_error"
    else:
        kind, code = _FAULT_CODES.get(status, ("invalid_request", "invalid_input"))
    body = {"id": scope.request_id, "type": kind, "http": status, "code": code}
    return Reply(status, {**body, "message": err.message}, media_type="application/json")


def _violation_code(err: ApiError) -> str:
    """The engine's schema check runs after identify, so this is a safety net."""
    for violation in err.violations:
        if violation.schema_path.endswith("required"):
            return "missing_fields"
        if "additionalProperties" in violation.schema_path:
            return "unknown_fields"
        field = violation.name.split("/", 1)[0]
        if field in FIELD_CODES:
            return FIELD_CODES[field]
        if field == "pcd_data_retention":
            return "invalid_pcd_data_retention"
        if not field:
            return "invalid_body"
    return "invalid_field"


# -- handlers ------------------------------------------------------------------------------------
@handlers
def create_token(ctx: Context) -> Reply:
    """Exchange a temp_token once, for the tenant whose onboarding issued it."""
    token = str(ctx.body["temp_token"])
    entry = ctx.store.get_value(TEMP_NS, token, ctx.now)
    if not entry or entry.get("tenant") != ctx.tenant:
        raise _unauthorized("invalid_temp_token", "The temp_token is unknown or already exchanged")
    entry = ctx.store.take_value(TEMP_NS, token, ctx.now)
    if not entry:  # exchanged by a concurrent call in between
        raise _unauthorized("invalid_temp_token", "The temp_token is unknown or already exchanged")
    credentials_id, access_token = str(uuid.uuid4()), _token()
    data = new_consent(
        credentials_id, access_token, entry["skill"], ctx.tenant, tenant_name(ctx), ctx.now
    )
    ctx.insert(credentials_id, data)
    shown = {
        "credentials_id": credentials_id,
        "access_token": access_token,
        "consent_exp": data["consent_exp"],
        "max_data_retention": data["max_data_retention"],
    }
    return Reply(200, shown)


def _consent(ctx: Context) -> Any:
    """The consent named by credentials_id, if this tenant owns it and access_token is its own."""
    record = ctx.fetch(str(ctx.body["credentials_id"]))
    if record is None:
        raise _unauthorized("invalid_credentials_id", "Unknown credentials_id")
    token = str(ctx.body["access_token"]).encode()
    if not hmac.compare_digest(str(record.data["_access_token"]).encode(), token):
        raise _unauthorized("invalid_access_token", "Invalid access_token for this credentials_id")
    return record


@handlers
def get_consent(ctx: Context) -> Reply:
    record = _consent(ctx)
    return Reply(
        200,
        {
            "op_type": "read",
            "code": "credentials_info",
            "http": 200,
            "message": "Consent info retrieved",
            "result": render(record.data),
        },
    )


@handlers
def delete_consent(ctx: Context) -> Reply:
    """ACTIVE → DELETED; idempotent; pcd_data_retention counts from when it stopped being ACTIVE."""
    record = _consent(ctx)
    raw = ctx.body.get("pcd_data_retention")
    retention = None if raw is None else retention_of(raw)

    def change(data: JsonDict) -> JsonDict:
        if data["status"] == "ACTIVE":
            end(data, "DELETED", ctx.now)
        if retention is not None:
            ended = parse_instant(data.get("_ended_at") or data["utc_last_update"])
            try:
                data["max_data_retention"] = _after(ended, retention)
            except ValueError as exc:
                raise _bad("invalid_pcd_data_retention", str(exc)) from None
        return data

    if change(copy.deepcopy(record.data)) != record.data:
        record = ctx.update(record, change)
    data = record.data
    result = {
        "client_id": data["tenant_app_info"]["client_id"],
        "credentials_id": data["credentials_id"],
        "max_data_retention": data["max_data_retention"],
    }
    body = {"op_type": "delete", "code": "credentials_deleted", "http": 200}
    return Reply(200, {**body, "message": "Consent deleted", "result": result})


# -- the onboarding journey and the admin shortcut -----------------------------------------------
def issue_temp_token(ctx: Context, skill: str) -> str:
    """What a finished onboarding session hands the tenant app's front-end."""
    token = _token()
    ctx.store.put_value(TEMP_NS, token, {"tenant": ctx.tenant, "skill": skill}, None)
    return token


def sandbox(kit: Kit) -> None:
    """/__sandbox/finqware/onboarding?client_id=..&redirect_uri=..[&state=..][&skill=..]."""

    @kit.route("/onboarding")
    def onboarding() -> Any:
        args = kit.args()
        client_id = args.get("client_id") or ""
        redirect_uri = args.get("redirect_uri") or ""
        chosen = args.get("skill") or DEFAULT_SKILL
        if not client_id:
            return kit.error_page("Missing client_id", "client_id names the tenant app.", 400)
        if redirect_uri and not is_http_url(redirect_uri):
            return kit.error_page(
                "Invalid redirect", "redirect_uri must be an absolute http(s) URL.", 400
            )
        if chosen not in SKILLS:
            return kit.error_page("Unknown skill", f"{chosen} is not a sandbox skill.", 400)
        ctx = kit.context(client_id)
        journey = secrets.token_urlsafe(16)
        state = {"client_id": client_id, "redirect_uri": redirect_uri, "state": args.get("state")}
        ctx.store.put_value(JOURNEY_NS, journey, state, ctx.now + JOURNEY_LIFETIME)
        options = Markup("").join(
            Markup(
                "<label class='option'><input type='radio' name='skill' value='{0}'{1}> "
                "{2} ({3}) <code>{0}</code></label>"
            ).format(skill, Markup(" checked") if skill == chosen else "", servicer, country)
            for skill, (country, servicer) in SKILLS.items()
        )
        body = Markup(
            "<p class='lead'>{name} asks to read your bank accounts through Finqware.</p>"
            "<form method='post' action='onboarding/decision'>"
            "<input type='hidden' name='journey' value='{journey}'>"
            "<input type='hidden' name='client_id' value='{client_id}'>"
            "<fieldset><legend>Sandbox bank</legend>{options}</fieldset>"
            "<div class='actions'>"
            "<button class='primary' type='submit' name='decision' value='approve'>Approve</button>"
            "<button class='danger' type='submit' name='decision' value='reject'>Reject</button>"
            "</div></form>"
        ).format(name=tenant_name(ctx), journey=journey, client_id=client_id, options=options)
        return kit.page("Connect your bank", body)

    @kit.route("/onboarding/decision", methods=("POST",))
    def decision() -> Any:
        form = kit.form()
        ctx = kit.context(form.get("client_id", ""))
        state = ctx.store.take_value(JOURNEY_NS, form.get("journey", ""), ctx.now)
        if not state or state.get("client_id") != ctx.tenant:
            return kit.error_page("Session expired", "Open the onboarding link again.", 403)
        choice = form.get("decision")
        params: dict[str, str] = {}
        if choice == "approve":
            skill = form.get("skill") or DEFAULT_SKILL
            if skill not in SKILLS:
                return kit.error_page("Unknown skill", f"{skill} is not a sandbox skill.", 400)
            params["temp_token"] = issue_temp_token(ctx, skill)
        elif choice == "reject":
            params["error"] = "access_denied"
        else:
            return kit.error_page("Unknown decision", "Choose Approve or Reject.", 400)
        if state.get("state"):
            params["state"] = str(state["state"])
        if state.get("redirect_uri"):
            return kit.redirect_to(str(state["redirect_uri"]), params)
        shown = Markup("").join(
            Markup("<dt>{}</dt><dd><code>{}</code></dd>").format(k, v) for k, v in params.items()
        )
        return kit.page("All done", Markup("<dl>{}</dl>").format(shown))


_ERROR = {"$ref": "#/components/responses/BadRequest"}
# /__admin/finqware/temp-tokens in the admin API's OpenAPI document (GET /__admin/openapi.json).
ADMIN_PATHS: dict[str, Any] = {
    "/temp-tokens": {
        "post": {
            "operationId": "finqwareTempToken",
            "tags": ["consents"],
            "summary": "A temp_token for createToken, without the onboarding page",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["tenant"],
                            "properties": {
                                "tenant": {"type": "string", "minLength": 1},
                                "skill": {"enum": list(SKILLS)},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": {
                    "description": "A single-use temp_token for the tenant (the client_id).",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["tenant", "skill", "temp_token"],
                                "properties": {
                                    "tenant": {"type": "string"},
                                    "skill": {"type": "string"},
                                    "temp_token": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "400": _ERROR,
            },
        }
    }
}


def admin(kit: Kit) -> None:
    """POST /__admin/finqware/temp-tokens {"tenant", "skill"?}: a temp_token without a browser."""

    @kit.route("/temp-tokens", methods=("POST",))
    def make_temp_token() -> Any:
        body = kit.json_body()
        if not isinstance(body, dict):
            body = {}
        tenant, skill = body.get("tenant"), body.get("skill", DEFAULT_SKILL)
        unknown = sorted(set(body) - {"tenant", "skill"})
        problem = (
            f"unknown fields: {', '.join(unknown)}; allowed: tenant, skill"
            if unknown
            else "tenant (the client_id) must be a non-empty string"
            if not isinstance(tenant, str) or not tenant
            else f"skill must be one of: {', '.join(SKILLS)}"
            if not isinstance(skill, str) or skill not in SKILLS
            else None
        )
        if problem is not None:
            response = jsonify({"error": "bad_request", "message": problem})
            response.status_code = 400
            return response
        token = issue_temp_token(kit.context(str(tenant)), str(skill))
        response = jsonify({"tenant": tenant, "skill": skill, "temp_token": token})
        response.status_code = 201
        return response


PROVIDER = ProviderDef(
    name="finqware",
    title="Finqware",
    spec_file="finqware.yaml",
    handlers=handlers,
    identify=identify,
    render_error=render_error,
    render=render,
    lifecycle=lifecycle,
    deadline=deadline,
    status_of=status_of,
    parse_status=parse_status,
    transitions=TRANSITIONS,
    transition=transition,
    admin_create=admin_create,
    default_tenant="sandbox-finqware-client",
    credentials_doc=(
        'Body fields "client_id": "sandbox-finqware-client", "client_secret": '
        '"sandbox-finqware-secret" (a new client_id registers the first client_secret sent).'
    ),
    secret_fields=frozenset({"client_secret", "access_token", "temp_token"}),
    sandbox=sandbox,
    admin=admin,
    admin_paths=ADMIN_PATHS,
    seed_tenant=seed_tenant,
)
