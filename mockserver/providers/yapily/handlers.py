"""Yapily's operations: consents (list, get, revoke, reconfirm) and their authorisation."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from ... import kit
from ...kit import parse_instant as instant
from .admin import ABSOLUTE_URI
from .consent import CONSENT_LIFETIME, STATES, authorisation_url, new_consent, render, resolve_user
from .dialect import meta, not_found, ok, refused
from .formats import query_instant, stamp, time_to_expire

CODES = kit.Tickets("yapily:code", timedelta(minutes=10))
ONE_TIME_TOKENS = kit.Tickets("yapily:ott", timedelta(minutes=10))

handlers = kit.Handlers()


def render_at(data: kit.JsonDict, now: datetime) -> kit.JsonDict:
    """The consent as the API answers it at `now`: `timeToExpire*` while expiresAt is ahead."""
    shown = render(data)
    left = time_to_expire(instant(data["expiresAt"]), now) if data.get("expiresAt") else None
    if left is None:
        return shown
    ordered: kit.JsonDict = {}
    for key, value in shown.items():
        if key == "featureScope":
            ordered["timeToExpireInMillis"], ordered["timeToExpire"] = left
        ordered[key] = value
    if "timeToExpire" not in ordered:
        ordered["timeToExpireInMillis"], ordered["timeToExpire"] = left
    return ordered


def order_key(data: kit.JsonDict) -> str:
    """Lists show the newest first (`sort=-date`), ties by id (descending too)."""
    return kit.sort_stamp(instant(data["createdAt"])) + str(data["id"])


_USERS = ("filter[applicationUserId]", "filter[userUuid]")
_FILTERS = (*_USERS, "filter[institution]", "from", "before")


@handlers
def get_consents(ctx: kit.Context) -> kit.Reply:
    query = ctx.query
    if not any(k in query for k in (*_USERS, "limit")):
        message = (
            "At least one of these filters filter[applicationUserId], filter[userUuid]=, "
            "limit= must be provided"
        )
        violations = [kit.Violation("query", "limit", message)]
        raise kit.ApiError(
            400, "invalid_request", message, code="MISSING_FILTER", violations=violations
        )
    lower = query_instant(query["from"]) if "from" in query else None
    upper = query_instant(query["before"]) if "before" in query else None
    offset, limit = int(query.get("offset", 0)), int(query.get("limit", 1000))
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
    echo: kit.JsonDict = {} if lower is None else {"from": stamp(lower)}
    if upper is not None:
        echo["before"] = stamp(upper)
    if "limit" in query:
        echo["limit"] = limit
    pagination: kit.JsonDict = {
        "totalCount": total,
        "self": {**echo, "sort": "-date", "offset": offset},
    }
    if offset + limit < total:
        pagination["next"] = {**echo, "cursor": str(offset + limit)}
    listed = {**meta(ctx), "count": len(records), "pagination": pagination}
    return ok(200, {"meta": listed, "data": [render_at(r.data, ctx.now) for r in records]})


def _matches(
    data: kit.JsonDict, query: kit.JsonDict, lower: datetime | None, upper: datetime | None
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
def get_consent_by_id(ctx: kit.Context) -> kit.Reply:
    record = kit.owned(ctx, not_found)
    return ok(200, {"meta": meta(ctx), "data": render_at(record.data, ctx.now)})


@handlers
def delete_consent(ctx: kit.Context) -> kit.Reply:
    """Revoke (any status → REVOKED); the consent stays readable; a repeat answers the same."""
    record = kit.owned(ctx, not_found)
    if record.data.get("status") != "REVOKED" or not record.data.get("isDeletedByInstitution"):
        record = ctx.update(
            record, lambda d: {**d, "status": "REVOKED", "isDeletedByInstitution": True}
        )
    data = record.data
    shown = {"id": data["id"], "deleteStatus": "SUCCESS"}
    shown |= {key: data[key] for key in ("institutionId", "institutionConsentId") if data.get(key)}
    shown["creationDate"] = data["createdAt"]
    return ok(200, {"meta": meta(ctx), "data": shown})


@handlers
def extend_consent(ctx: kit.Context) -> kit.Reply:
    record = kit.owned(ctx, not_found)
    status = STATES.status_of(record.data)
    if status != "AUTHORIZED":
        message = f"Consent status {status} cannot be reconfirmed; it must be AUTHORIZED"
        raise refused(400, "invalid_state", message, "INVALID_CONSENT_STATUS")
    confirmed = instant(ctx.body["lastConfirmedAt"])
    authorised = record.data.get("authorizedAt")
    problem = "lastConfirmedAt cannot be a future date and time" if confirmed > ctx.now else ""
    if not problem and authorised and confirmed < instant(authorised):
        problem = "lastConfirmedAt cannot be before the consent was authorised"
    if problem:
        code = "INVALID_PROPERTY_UNEXPECTED_VALUE"
        raise refused(400, "invalid_request", problem, code, "$.lastConfirmedAt")

    def change(data: kit.JsonDict) -> kit.JsonDict:
        reconfirm = stamp(confirmed + CONSENT_LIFETIME)
        data.update(lastConfirmedAt=stamp(confirmed), reconfirmBy=reconfirm)
        if not data.get("_requestedExpiresAt"):
            data["expiresAt"] = reconfirm
        return data

    updated = ctx.update(record, change)
    return ok(200, {"meta": meta(ctx), "data": render_at(updated.data, ctx.now)})


@handlers
def initiate_account_request(ctx: kit.Context) -> kit.Reply:
    body: kit.JsonDict = ctx.body
    callback, redirect = body.get("callback"), (body.get("redirect") or {}).get("url")
    for name, url in (("callback", callback), ("redirect.url", redirect)):
        if url is not None and not ABSOLUTE_URI.match(url):
            message = f"{name} must be an absolute URI"
            violations = [kit.Violation("body", name.replace(".", "/"), message)]
            raise kit.ApiError(
                400, "invalid_request", message, code="INVALID_URI", violations=violations
            )
    try:
        user_uuid, app_user = resolve_user(ctx, body.get("userUuid"), body.get("applicationUserId"))
    except ValueError as exc:  # Yapily's 409: "conflict on create (e.g. users)"
        raise kit.ApiError(409, "conflict", str(exc), code="USER_CONFLICT") from None
    consent_id = str(uuid.uuid4())
    data = new_consent(consent_id, body["institutionId"], user_uuid, app_user, ctx.now)
    request: kit.JsonDict = body.get("accountRequest") or {}
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
    shown = render_at(record.data, ctx.now)
    shown.pop("isDeletedByInstitution", None)
    shown["authorisationUrl"] = authorisation_url(ctx, data)
    shown["qrCodeUrl"] = f"{ctx.sandbox_url}/qr/{consent_id}"
    return ok(201, {"meta": meta(ctx), "data": shown}, location=f"/consents/{consent_id}")


def _exchange(
    ctx: kit.Context, tickets: kit.Tickets, key: str, what: str, **expect: str
) -> kit.Record:
    """Take a single-use code or token of this application; unknown, foreign or used → 404."""
    entry = tickets.take(ctx, key, tenant=ctx.tenant, **expect)
    record = ctx.fetch(str(entry["consentId"])) if entry else None
    if record is None:
        raise refused(404, "not_found", f"{what} not found or already used", "NOT_FOUND")
    return record


@handlers
def exchange_consent_auth_code(ctx: kit.Context) -> kit.Reply:
    body: kit.JsonDict = ctx.body
    record = _exchange(ctx, CODES, body["authCode"], "Authorisation code", state=body["authState"])
    return ok(200, render_at(record.data, ctx.now))


@handlers
def exchange_one_time_token(ctx: kit.Context) -> kit.Reply:
    record = _exchange(ctx, ONE_TIME_TOKENS, ctx.body["oneTimeToken"], "One-time token")
    return ok(201, render_at(record.data, ctx.now), location=f"/consents/{record.id}")
