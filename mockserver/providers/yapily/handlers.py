"""Yapily's operations: consents (list, get, revoke, reconfirm), their authorisation, and the
follow-ups on a consent its token names (re-authorisation, pre-authorisation's continuation)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from ... import kit
from ...kit import parse_instant as instant
from . import consent
from .consent import stamp
from .dialect import meta, not_found, ok, refused, require_status

# `from`/`before` in Yapily's `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, rolled over leniently as Java does
# (the spec's pattern has already refused any other shape).
query_instant = kit.lenient_instant
CODES = kit.Grants("yapily:code", timedelta(minutes=10))
ONE_TIME_TOKENS = kit.Grants("yapily:ott", timedelta(minutes=10))

handlers = kit.Handlers()


def render_at(data: kit.JsonDict, now: datetime) -> kit.JsonDict:
    """The consent as the API answers it at `now`: `timeToExpire*` while expiresAt is ahead (in
    milliseconds, and as Java's Duration.toString writes it)."""
    left = instant(data["expiresAt"]) - now if data.get("expiresAt") else timedelta(0)
    if (millis := left // timedelta(milliseconds=1)) > 0:
        data = data | {"timeToExpireInMillis": millis, "timeToExpire": kit.iso_duration(left)}
    return consent.render(data)


# Lists show the newest first (`sort=-date`), ties by id (descending too).
order_key = kit.order_by("createdAt", tie="id")


# The filters besides one status (which the store's index serves).
FILTERS = kit.Filters(
    {
        "filter[applicationUserId]": kit.one_of("applicationUserId"),
        "filter[userUuid]": kit.one_of("userUuid", fold=True),
        "filter[institution]": kit.one_of("institutionId"),
        "filter[status]": kit.one_of("status"),
        "from": lambda d, v: instant(d["createdAt"]) >= query_instant(v),
        "before": lambda d, v: instant(d["createdAt"]) <= query_instant(v),
    }
)
_MISSING_FILTER = (
    "At least one of these filters filter[applicationUserId], filter[userUuid]=, "
    "limit= must be provided"
)


@handlers
def get_consents(ctx: kit.Context) -> kit.Reply:
    query = ctx.query
    if not any(k in query for k in ("filter[applicationUserId]", "filter[userUuid]", "limit")):
        raise kit.invalid("query", "limit", _MISSING_FILTER, code="MISSING_FILTER")
    echo: kit.JsonDict = {
        k: stamp(query_instant(query[k])) for k in ("from", "before") if k in query
    }
    offset, limit = int(query.get("offset", 0)), int(query.get("limit", 1000))
    echo |= {"limit": limit} if "limit" in query else {}
    statuses = query.get("filter[status]") or []
    status = statuses[0] if len(statuses) == 1 else None
    keep = FILTERS.keep({k: v for k, v in query.items() if k != "filter[status]" or not status})
    records, total = ctx.listing(
        status=status, keep=keep, descending=True, offset=offset, limit=limit
    )
    pagination: kit.JsonDict = {"totalCount": total, "self": {**echo, "sort": "-date"}}
    pagination["self"]["offset"] = offset
    if offset + limit < total:
        pagination["next"] = {**echo, "cursor": str(offset + limit)}
    listed = {**meta(ctx), "count": len(records), "pagination": pagination}
    return ok(200, {"meta": listed, "data": [render_at(r.data, ctx.now) for r in records]})


@handlers
def get_consent_by_id(ctx: kit.Context) -> kit.Reply:
    record = kit.owned(ctx, not_found)
    return ok(200, {"meta": meta(ctx), "data": render_at(record.data, ctx.now)})


@handlers
def delete_consent(ctx: kit.Context) -> kit.Reply:
    """Revoke (any status → REVOKED); the consent stays readable; a repeat answers the same.
    Where the institution refuses to revoke, `forceDelete=false` changes nothing and answers
    FAILED; the default (true) revokes at Yapily anyway, `isDeletedByInstitution` false."""
    record = kit.owned(ctx, not_found)
    force = str(ctx.query.get("forceDelete", True)).lower() != "false"
    # A sandbox institution whose side refuses to revoke (to see forceDelete and FAILED at work).
    bank_revokes = record.data.get("institutionId") != "revoke-fails-sandbox"
    outcome = "SUCCESS" if force or bank_revokes else "FAILED"
    revoked = {"status": "REVOKED", "isDeletedByInstitution": bank_revokes}
    if outcome == "SUCCESS" and any(record.data.get(k) != v for k, v in revoked.items()):
        record = ctx.update(record, lambda d: {**d, **revoked})
    data = record.data
    shown = {"id": data["id"], "deleteStatus": outcome}
    shown |= {key: data[key] for key in ("institutionId", "institutionConsentId") if data.get(key)}
    shown["creationDate"] = data["createdAt"]
    return ok(200, {"meta": meta(ctx), "data": shown})


@handlers
def extend_consent(ctx: kit.Context) -> kit.Reply:
    record = kit.owned(ctx, not_found)
    require_status(record.data, ("AUTHORIZED",), "reconfirmed")
    confirmed = instant(ctx.body["lastConfirmedAt"])  # an AUTHORIZED consent has authorizedAt
    problem = "lastConfirmedAt cannot be a future date and time" if confirmed > ctx.now else ""
    if not problem and confirmed < instant(record.data["authorizedAt"]):
        problem = "lastConfirmedAt cannot be before the consent was authorised"
    if problem:
        code = "INVALID_PROPERTY_UNEXPECTED_VALUE"
        raise refused(400, "invalid_request", problem, code, "$.lastConfirmedAt")

    def change(data: kit.JsonDict) -> kit.JsonDict:
        reconfirm = stamp(confirmed + consent.CONSENT_LIFETIME)
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
        if url is not None and not consent.ABSOLUTE_URI.match(url):
            message = f"{name} must be an absolute URI"
            raise kit.invalid("body", name.replace(".", "/"), message, code="INVALID_URI")
    try:
        user_uuid, app_user = consent.resolve_user(
            ctx, body.get("userUuid"), body.get("applicationUserId")
        )
    except ValueError as exc:  # Yapily's 409: "conflict on create (e.g. users)"
        raise kit.ApiError(409, "conflict", str(exc), code="USER_CONFLICT") from None
    consent_id = str(uuid.uuid4())
    data = consent.new_consent(consent_id, body["institutionId"], user_uuid, app_user, ctx.now)
    consent.apply_account_request(data, body.get("accountRequest") or {})
    data["_callback"], data["_redirectUrl"] = callback, redirect
    data["_oneTimeToken"] = bool(body.get("oneTimeToken"))
    data["_forwardParameters"] = list(body.get("forwardParameters") or [])
    record = ctx.insert(consent_id, data)
    return authorisation(ctx, record.data, 201, journey=True, location=f"/consents/{consent_id}")


def authorisation(
    ctx: kit.Context, data: kit.JsonDict, status: int, *, journey: bool, location: str | None = None
) -> kit.Reply:
    """An authorisation request as its operations answer it (with its journey's URLs)."""
    shown = render_at(data, ctx.now)
    shown.pop("isDeletedByInstitution", None)
    if journey:
        shown |= consent.journey_urls(ctx, data)
    return ok(status, {"meta": meta(ctx), "data": shown}, location=location)


def _exchange(
    ctx: kit.Context, grants: kit.Grants, key: str, what: str, **expect: str
) -> kit.Record:
    """Take a single-use code or token of this application; unknown, foreign or used → 404."""
    record = grants.redeem(ctx, key, **expect)
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


# -- a consent its token names (header `consent`): PATCH and PUT /account-auth-requests -------

_BAD_TOKEN = "No consent of this application has this consent token"


def by_token(ctx: kit.Context) -> kit.Record:
    """The application's consent whose token the `consent` header carries, else 404 (as a
    consent id of another application is answered)."""
    token = str(ctx.headers.get("consent") or "")
    claims = consent.verify_token(token) if token else None
    consent_id = claims.get("CONSENT") if isinstance(claims, dict) else None
    record = ctx.fetch(str(consent_id)) if isinstance(consent_id, str) else None
    if record is None or not kit.same_secret(record.data.get("consentToken", ""), token):
        raise refused(404, "not_found", _BAD_TOKEN, "CONSENT_NOT_FOUND", "consent")
    return record


@handlers
def re_authorise_account(ctx: kit.Context) -> kit.Reply:
    """AUTHORIZED or EXPIRED (or already awaiting re-authorisation) → AWAITING_RE_AUTHORIZATION,
    same id and token, a new journey; the status it had is kept to return to on a failure."""
    record = by_token(ctx)
    require_status(record.data, consent.REAUTHORISABLE, "re-authorised")

    def change(data: kit.JsonDict) -> kit.JsonDict:
        if data["status"] != "AWAITING_RE_AUTHORIZATION":
            data["_reauthFrom"] = data["status"]
        data["status"] = "AWAITING_RE_AUTHORIZATION"
        return data

    return authorisation(ctx, ctx.update(record, change).data, 201, journey=True)


@handlers
def update_pre_authorise_account_consent(ctx: kit.Context) -> kit.Reply:
    """PRE_AUTHORIZED → AWAITING_DECOUPLED_AUTHORIZATION (Yapily's example): the user answers in
    the bank's app, i.e. the admin API's /approve or /reject. The body may narrow the request."""
    record, body = by_token(ctx), dict(ctx.body)
    require_status(record.data, ("PRE_AUTHORIZED",), "continued")
    if body["institutionId"] != record.data.get("institutionId"):
        message = "institutionId must be the consent's institution"
        raise refused(400, "invalid_request", message, "INVALID_PROPERTY", "$.institutionId")
    app_user, user_uuid = body.get("applicationUserId"), body.get("userUuid")
    if app_user not in (None, record.data.get("applicationUserId")) or (
        user_uuid is not None and user_uuid.lower() != record.data.get("userUuid")
    ):
        message = "userUuid and applicationUserId must name the consent's user"
        raise refused(400, "invalid_request", message, "INVALID_PROPERTY", "$.applicationUserId")
    request: kit.JsonDict = body.get("accountRequest") or {}

    def change(data: kit.JsonDict) -> kit.JsonDict:
        consent.apply_account_request(data, request)
        data["status"] = "AWAITING_DECOUPLED_AUTHORIZATION"
        return data

    return authorisation(ctx, ctx.update(record, change).data, 200, journey=False)
