"""Yapily's follow-ups on an existing consent named by its token (header `consent`):
re-authorisation (PATCH /account-auth-requests) and pre-authorisation's continuation (PUT)."""

from __future__ import annotations

from ... import kit
from . import consent
from .dialect import refused, wrong_status
from .formats import verify_token
from .handlers import authorisation, handlers

_BAD_TOKEN = "No consent of this application has this consent token"


def by_token(ctx: kit.Context) -> kit.Record:
    """The application's consent whose token the `consent` header carries, else 404 (as a
    consent id of another application is answered)."""
    token = str(ctx.headers.get("consent") or "")
    claims = verify_token(token) if token else None
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
    status = consent.STATES.status_of(record.data)
    if status not in consent.REAUTHORISABLE:
        raise wrong_status(status, consent.REAUTHORISABLE[:2], "re-authorised")

    def change(data: kit.JsonDict) -> kit.JsonDict:
        if data["status"] != "AWAITING_RE_AUTHORIZATION":
            data["_reauthFrom"] = data["status"]
        data["status"] = "AWAITING_RE_AUTHORIZATION"
        return data

    updated = ctx.update(record, change)
    return authorisation(ctx, updated.data, 201, journey=True)


def _same_user(data: kit.JsonDict, body: kit.JsonDict) -> bool:
    app_user, user_uuid = body.get("applicationUserId"), body.get("userUuid")
    return (app_user is None or app_user == data.get("applicationUserId")) and (
        user_uuid is None or user_uuid.lower() == data.get("userUuid")
    )


@handlers
def update_pre_authorise_account_consent(ctx: kit.Context) -> kit.Reply:
    """PRE_AUTHORIZED → AWAITING_DECOUPLED_AUTHORIZATION (Yapily's example): the user answers in
    the bank's app, i.e. the admin API's /approve or /reject. The body may narrow the request."""
    record, body = by_token(ctx), dict(ctx.body)
    status = consent.STATES.status_of(record.data)
    if status != "PRE_AUTHORIZED":
        raise wrong_status(status, ("PRE_AUTHORIZED",), "continued")
    if body["institutionId"] != record.data.get("institutionId"):
        message = "institutionId must be the consent's institution"
        raise refused(400, "invalid_request", message, "INVALID_PROPERTY", "$.institutionId")
    if not _same_user(record.data, body):
        message = "userUuid and applicationUserId must name the consent's user"
        raise refused(400, "invalid_request", message, "INVALID_PROPERTY", "$.applicationUserId")
    request: kit.JsonDict = body.get("accountRequest") or {}

    def change(data: kit.JsonDict) -> kit.JsonDict:
        consent.apply_account_request(data, request)
        data["status"] = "AWAITING_DECOUPLED_AUTHORIZATION"
        return data

    updated = ctx.update(record, change)
    return authorisation(ctx, updated.data, 200, journey=False)
