"""API.1 (Zwapgrid) Consents API: x-api-key tenants, int statuses, ETags, one-time codes."""

from __future__ import annotations

import base64
import math
import secrets
import uuid
from datetime import datetime, timedelta
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
from ..clock import format_instant, parse_instant
from ..lifecycle import TransitionRefused
from ..sandbox import Kit, is_http_url, with_params
from ..validation import Violation

JsonDict = dict[str, Any]

STATUS_CODES = {"CREATED": 0, "ACCEPTED": 1, "REVOKED": 2, "INACTIVE": 3}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}
SYSTEMS = (
    "fortnox",
    "vismaeaccounting",
    "bjornlunden",
    "procountor",
    "vismaeconomic",
    "testone",
    "vismadinero",
    "billy",
    "fileone",
    "tripletex",
    "businesscentral",
    "vismanetvisor",
    "exactonline",
    "quickbooks",
    "xero",
    "bokio",
)
UNUSED_UNTIL_INACTIVE = timedelta(days=30)
CREATED_PURGE = timedelta(days=30)
ENDED_PURGE = timedelta(days=180)
OTC_LIFETIME = timedelta(hours=1)
OTC_NS = "api1:otc"
JOURNEY_NS = "api1:journey"
JOURNEY_LIFETIME = timedelta(hours=1)
TOMBSTONE_NS = "api1:deleted"
PUBLIC_FIELDS = (
    "id",
    "name",
    "status",
    "source",
    "systemSettingsId",
    "systemSettings",
    "createdOn",
    "updatedOn",
)

handlers = Handlers()


# -- the consent and its lifecycle ----------------------------------------------------------------
def render(data: JsonDict) -> JsonDict:
    """The consent as API.1 shows it (ConsentDto): internal bookkeeping removed."""
    return {key: data.get(key) for key in PUBLIC_FIELDS}


def status_of(data: JsonDict) -> str:
    return STATUS_NAMES[int(data["status"])]


def parse_status(value: Any) -> str | None:
    """A status by name (any case) or number, as the list filter and the admin API take it."""
    text = str(value).strip().upper()
    if text in STATUS_CODES:
        return text
    if text.isdigit() and int(text) in STATUS_NAMES:
        return STATUS_NAMES[int(text)]
    return None


def lifecycle(data: JsonDict, now: datetime) -> JsonDict | None:
    """Purge and inactivity rules of FACTS §1.3, evaluated against the simulated clock."""
    status = status_of(data)
    since = parse_instant(data["_statusSince"])
    if status == "CREATED" and now >= parse_instant(data["createdOn"]) + CREATED_PURGE:
        return None
    if status == "ACCEPTED":
        last_used = parse_instant(data.get("_lastUsedOn") or data["_statusSince"])
        inactive_at = last_used + UNUSED_UNTIL_INACTIVE
        if now < inactive_at:
            return data
        data = {
            **data,
            "status": STATUS_CODES["INACTIVE"],
            "updatedOn": format_instant(inactive_at),
            "_statusSince": format_instant(inactive_at),
        }
        since = inactive_at
        status = "INACTIVE"
    if status in ("REVOKED", "INACTIVE") and now >= since + ENDED_PURGE:
        return None
    return data


def deadline(data: JsonDict) -> datetime | None:
    """When `lifecycle` next changes the consent: purge, inactivity, purge again."""
    status = status_of(data)
    if status == "CREATED":
        return parse_instant(data["createdOn"]) + CREATED_PURGE
    if status == "ACCEPTED":
        return (
            parse_instant(data.get("_lastUsedOn") or data["_statusSince"]) + UNUSED_UNTIL_INACTIVE
        )
    return parse_instant(data["_statusSince"]) + ENDED_PURGE


def order_key(data: JsonDict) -> str:
    """The default list order is by createdOn."""
    return sort_stamp(parse_instant(data["createdOn"]))


TRANSITIONS: dict[str, tuple[str, ...]] = {
    "CREATED": ("ACCEPTED", "REVOKED"),
    "ACCEPTED": ("REVOKED", "INACTIVE"),
    "REVOKED": (),
    "INACTIVE": (),
}


def transition(data: JsonDict, to: str, now: datetime, source: str | None = None) -> JsonDict:
    """Move a consent to a new status, filling what that status implies."""
    stamp = format_instant(now)
    data.update(status=STATUS_CODES[to], updatedOn=stamp, _statusSince=stamp)
    if to == "ACCEPTED":
        system = source or data.get("source") or "testone"
        settings_id = data.get("systemSettingsId") or str(uuid.uuid4())
        data.update(
            source=system,
            systemSettingsId=settings_id,
            systemSettings={system: settings_id},
            _lastUsedOn=stamp,
        )
    return data


def _transition(data: JsonDict, to: str, now: datetime, options: JsonDict) -> JsonDict:
    unknown = set(options) - {"source"}
    if unknown:
        raise ValueError(
            f"unknown transition options: {', '.join(sorted(unknown))}; "
            "allowed: source (the accounting system connected on ACCEPTED)"
        )
    source = options.get("source")
    if source is not None and source not in SYSTEMS:
        raise ValueError(f"source {source!r} is not an API.1 system; known: {', '.join(SYSTEMS)}")
    return transition(data, to, now, source)


def new_consent(consent_id: str, name: str | None, now: datetime) -> JsonDict:
    stamp = format_instant(now)
    return {
        "id": consent_id,
        "name": name,
        "status": 0,
        "source": None,
        "systemSettingsId": None,
        "systemSettings": None,
        "createdOn": stamp,
        "updatedOn": None,
        "_statusSince": stamp,
        "_lastUsedOn": None,
        "_isTest": True,
    }


def admin_create(ctx: Context, fields: JsonDict) -> AdminCreated:
    """A consent in any state, with the defaults the API and the onboarding journey would give."""
    fields = dict(fields)
    status = fields.pop("status")
    consent_id = str(fields.pop("id", None) or uuid.uuid4())
    _check_uuid(consent_id, "id")
    created = _instant(fields.pop("createdOn", None), ctx.now, "createdOn")
    data = new_consent(consent_id, fields.pop("name", f"Sandbox consent {consent_id[:8]}"), created)
    if data["name"] is not None and not isinstance(data["name"], str):
        raise ValueError("name must be a string or null")
    source = fields.pop("source", None)
    if source is not None and source not in SYSTEMS:
        raise ValueError(f"source {source!r} is not an API.1 system; known: {', '.join(SYSTEMS)}")
    settings_id = fields.pop("systemSettingsId", None)
    if settings_id is not None:
        _check_uuid(settings_id, "systemSettingsId")
        data["systemSettingsId"] = settings_id
    if status != "CREATED":
        transition(
            data, status, _instant(fields.pop("updatedOn", None), created, "updatedOn"), source
        )
    elif source is not None:
        data["source"] = source
    if "systemSettings" in fields:
        data["systemSettings"] = fields.pop("systemSettings")
    if "lastUsedOn" in fields:
        data["_lastUsedOn"] = format_instant(
            _instant(fields.pop("lastUsedOn"), ctx.now, "lastUsedOn")
        )
    if "isTest" in fields:
        data["_isTest"] = bool(fields.pop("isTest"))
    if fields:
        raise ValueError(
            f"unknown consent fields: {', '.join(sorted(fields))}; allowed: "
            "id, name, status, source, systemSettingsId, systemSettings, createdOn, "
            "updatedOn, lastUsedOn, isTest"
        )
    return AdminCreated(consent_id, data)


def _instant(value: Any, default: datetime, name: str) -> datetime:
    if value is None:
        return default
    try:
        return parse_instant(str(value))
    except ValueError:
        raise ValueError(f"{name} must be an RFC 3339 date-time, got {value!r}") from None


def _check_uuid(value: Any, name: str) -> None:
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a uuid, got {value!r}") from None


# -- credentials and errors -----------------------------------------------------------------------
def identify(ctx: Context) -> str:
    """The tenant is the API key itself: any non-empty key is a development key."""
    return str(ctx.credentials.get("ApiKey", ""))


_PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
    403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
    412: "https://tools.ietf.org/html/rfc9110#section-15.5.13",
    413: "https://tools.ietf.org/html/rfc9110#section-15.5.14",
    415: "https://tools.ietf.org/html/rfc9110#section-15.5.16",
    428: "https://tools.ietf.org/html/rfc6585#section-3",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
}


def render_error(err: ApiError, scope: ErrorScope) -> Reply:
    """RFC 7807 problem details, as an ASP.NET Core service writes them."""
    try:
        title = HTTPStatus(err.status).phrase
    except ValueError:
        title = "Error"
    validation = err.kind == "invalid_request" and bool(err.violations)
    body: JsonDict = {
        "type": _PROBLEM_TYPES.get(err.status, "about:blank"),
        "title": "One or more validation errors occurred." if validation else title,
        "status": err.status,
        "detail": err.message,
        "instance": scope.path,
        "traceId": _trace_id(scope.request_id),
    }
    if validation:
        errors: dict[str, list[str]] = {}
        for violation in err.violations:
            errors.setdefault(violation.name or violation.location, []).append(violation.message)
        body["errors"] = errors
    return Reply(err.status, body, media_type="application/problem+json")


def _trace_id(request_id: str) -> str:
    """A W3C traceparent, the form ASP.NET Core puts in `traceId`."""
    hexed = request_id.replace("-", "")
    return f"00-{hexed}-{hexed[:16]}-01"


def _not_found(consent_id: str) -> ApiError:
    return ApiError(404, "not_found", f"Consent {consent_id} was not found.")


def _owned(ctx: Context) -> Any:
    record = ctx.fetch(ctx.path["consentId"])
    if record is None:
        raise _not_found(ctx.path["consentId"])
    return record


# -- handlers ------------------------------------------------------------------------------------
@handlers
def create_consent(ctx: Context) -> Reply:
    consent_id = str(uuid.uuid4())
    record = ctx.insert(consent_id, new_consent(consent_id, ctx.body["name"], ctx.now))
    return Reply(201, render(record.data), record=record, location=f"/api/v1/consents/{consent_id}")


@handlers
def get_consent(ctx: Context) -> Reply:
    record = _owned(ctx)
    return Reply(200, render(record.data), record=record)


@handlers
def update_consent(ctx: Context) -> Reply:
    record = _owned(ctx)
    body: JsonDict = ctx.body
    if "status" in body and body["status"] != STATUS_CODES["REVOKED"]:
        raise ApiError(
            400,
            "invalid_request",
            "status can only be set to REVOKED (2).",
            violations=[Violation("body", "status", "can only be set to REVOKED (2)")],
        )
    stamp = format_instant(ctx.now)

    def change(data: JsonDict) -> JsonDict:
        if "name" in body:
            data["name"] = body["name"]
        if "status" in body:
            data.update(status=STATUS_CODES["REVOKED"], _statusSince=stamp)
        data["updatedOn"] = stamp
        return data

    updated = ctx.update_if_match(record, change)
    return Reply(204, record=updated)


@handlers
def delete_consent(ctx: Context) -> Reply:
    consent_id = ctx.path["consentId"]
    tombstones = f"{TOMBSTONE_NS}:{ctx.tenant}"
    if ctx.fetch(consent_id) is not None:
        ctx.store.delete(ctx.provider.name, ctx.tenant, consent_id)
        ctx.store.put_value(tombstones, consent_id, True, None)
    elif not ctx.store.get_value(tombstones, consent_id, ctx.now):
        raise _not_found(consent_id)
    return Reply(204)


@handlers
def create_one_time_code(ctx: Context) -> Reply:
    record = _owned(ctx)
    if status_of(record.data) != "CREATED":
        raise ApiError(
            409,
            "invalid_state",
            f"A one-time code can only be created for a CREATED consent; this one is "
            f"{status_of(record.data)}.",
        )
    # Standard base64 on purpose: the real code is not URL-encoded, and clients must encode it.
    code = base64.b64encode(secrets.token_bytes(12)).decode()
    ctx.store.put_value(
        OTC_NS, code, {"tenant": ctx.tenant, "consentId": record.id}, ctx.now + OTC_LIFETIME
    )
    return Reply(201, {"code": code})


@handlers
def list_consents(ctx: Context) -> Reply:
    query = ctx.query
    count = int(query.get("Count", 10))
    page = int(query.get("CurrentPage", 1))
    start = (page - 1) * count
    status = parse_status(query["Status"]) if "Status" in query else None
    filtered = any(name in query for name in _FILTERS)
    field, _, direction = str(query.get("OrderBy", "createdOn desc")).partition(" ")
    if "Status" in query and status is None:
        shown, total = [], 0
    elif field == "createdOn":  # the store's own order: only this page is read
        keep = (lambda d: _matches(d, query)) if filtered else None
        records, total = ctx.listing(
            status=status, descending=direction == "desc", offset=start, limit=count, keep=keep
        )
        shown = [r.data for r in records]
    else:
        records, total = ctx.listing(status=status, keep=lambda d: _matches(d, query))
        selected = [r.data for r in records]
        # None sorts apart; a falsy value such as status 0 (CREATED) must still sort as itself.
        selected.sort(
            key=lambda d: (d.get(field) is None, "" if d.get(field) is None else d.get(field)),
            reverse=direction == "desc",
        )
        shown = selected[start : start + count]
    body = {
        "data": [render(d) for d in shown],
        "meta": {
            "currentPage": page,
            "pageSize": count,
            "totalCount": total,
            "totalPages": math.ceil(total / count),
        },
    }
    return Reply(200, body)


_FILTERS = ("Source", "Name", "IsTest", "SystemSettingsId", "CreatedOn", "UpdatedOn")


def _matches(data: JsonDict, query: JsonDict) -> bool:
    """The filters besides Status (which the store's index serves)."""
    if "Source" in query and str(data.get("source") or "").lower() != query["Source"].lower():
        return False
    if "Name" in query and query["Name"].lower() not in str(data.get("name") or "").lower():
        return False
    if "IsTest" in query and bool(data.get("_isTest", True)) != query["IsTest"]:
        return False
    if "SystemSettingsId" in query:
        wanted = query["SystemSettingsId"].lower()
        ids = {str(data.get("systemSettingsId") or "").lower()}
        ids |= {str(v).lower() for v in (data.get("systemSettings") or {}).values()}
        if wanted not in ids:
            return False
    if "CreatedOn" in query and not str(data["createdOn"]).startswith(query["CreatedOn"]):
        return False
    return "UpdatedOn" not in query or str(data.get("updatedOn") or "").startswith(
        query["UpdatedOn"]
    )


# -- the onboarding journey (used by the sandbox page) --------------------------------------------
def consume_one_time_code(ctx: Context, consent_id: str, code: str) -> JsonDict | None:
    """Take a live code for this consent; a used, expired or foreign code gives None."""
    entry = ctx.store.get_value(OTC_NS, code, ctx.now)
    if not entry or entry.get("consentId") != consent_id:
        return None
    taken: JsonDict | None = ctx.store.take_value(OTC_NS, code, ctx.now)
    return taken


def sandbox(kit: Kit) -> None:
    """The Onboarding Flow: /__sandbox/api1/consent/<id>/?otc=<code>&redirecturl=<url>."""

    @kit.route("/consent/<consent_id>/")
    def onboarding(consent_id: str) -> Any:
        args = kit.args()
        redirect_url = args.get("redirecturl") or ""
        delay = args.get("redirectdelay") or ""
        if redirect_url and not is_http_url(redirect_url):
            return kit.error_page(
                "Invalid redirect", "redirecturl must be an absolute http(s) URL.", 400
            )
        if delay and not (delay.isdigit() and int(delay) <= 60):
            return kit.error_page(
                "Invalid redirect delay", "redirectdelay must be 0 to 60 seconds.", 400
            )
        record = kit.find(consent_id)
        if record is None:
            return kit.error_page("Consent not found", "This consent does not exist.", 404)
        ctx = kit.context(record.tenant)
        code = args.get("otc") or ""
        if not code or consume_one_time_code(ctx, consent_id, code) is None:
            return kit.error_page(
                "Link expired",
                "This onboarding link is invalid, expired or already used. "
                "Ask the service that sent you here for a new link.",
                403,
            )
        if status_of(record.data) != "CREATED":
            return kit.error_page(
                "Already connected", f"This consent is {status_of(record.data)}.", 409
            )
        journey = secrets.token_urlsafe(16)
        state = {"consentId": consent_id, "redirecturl": redirect_url, "delay": delay}
        ctx.store.put_value(JOURNEY_NS, journey, state, ctx.now + JOURNEY_LIFETIME)
        options = Markup("").join(
            Markup(
                "<label class='option'>"
                "<input type='radio' name='system' value='{0}'{1}> {0}</label>"
            ).format(system, Markup(" checked") if system == "testone" else "")
            for system in SYSTEMS
        )
        body = Markup(
            "<p class='lead'>{name} asks to connect to your accounting system through API.1.</p>"
            "<form method='post' action='decision'>"
            "<input type='hidden' name='journey' value='{journey}'>"
            "<fieldset><legend>Accounting system</legend>{options}</fieldset>"
            "<div class='actions'>"
            "<button class='primary' type='submit' name='decision' value='approve'>Connect</button>"
            "<button class='danger' type='submit' name='decision' value='reject'>Cancel</button>"
            "</div></form>"
        ).format(name=record.data.get("name") or "A service", journey=journey, options=options)
        return kit.page("Connect your accounting system", body)

    @kit.route("/consent/<consent_id>/decision", methods=("POST",))
    def decision(consent_id: str) -> Any:
        form = kit.form()
        record = kit.find(consent_id)
        if record is None:
            return kit.error_page("Consent not found", "This consent does not exist.", 404)
        ctx = kit.context(record.tenant)
        state = ctx.store.take_value(JOURNEY_NS, form.get("journey", ""), ctx.now)
        if not state or state.get("consentId") != consent_id:
            return kit.error_page("Session expired", "Open the onboarding link again.", 403)
        choice = form.get("decision")
        if choice == "approve":
            system = form.get("system") or "testone"
            if system not in SYSTEMS:
                return kit.error_page("Unknown system", f"{system} is not supported.", 400)
            try:
                kit.move(consent_id, "ACCEPTED", source=system)
            except TransitionRefused as refused:
                return kit.error_page("Cannot connect", str(refused), 409)
            params = {"consentId": consent_id, "status": "accepted", "source": system}
        elif choice == "reject":
            try:
                kit.move(consent_id, "REVOKED")
            except TransitionRefused as refused:
                return kit.error_page("Cannot cancel", str(refused), 409)
            params = {"consentId": consent_id, "status": "rejected"}
        else:
            return kit.error_page("Unknown decision", "Choose Connect or Cancel.", 400)
        url = str(state.get("redirecturl") or "")
        if not url:
            return kit.page("All done", Markup("<p class='lead'>You can close this window.</p>"))
        if state.get("delay"):
            target = with_params(url, params)
            head = Markup("<meta http-equiv='refresh' content='{};url={}'>").format(
                state["delay"], target
            )
            body = Markup(
                "<p class='lead'>Done. Taking you back in {} s: <a href='{}'>continue</a>.</p>"
            )
            return kit.page("All done", body.format(state["delay"], target), head=head)
        return kit.redirect_to(url, params)


PROVIDER = ProviderDef(
    name="api1",
    title="API.1 (Zwapgrid) Consents API",
    spec_file="api1.yaml",
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
    transition=_transition,
    admin_create=admin_create,
    default_tenant="sandbox-api1-key",
    credentials_doc="Header `x-api-key: sandbox-api1-key` (any non-empty key is its own tenant).",
    secret_tenant=True,
    approved="ACCEPTED",
    rejected="REVOKED",
    sandbox=sandbox,
)
