"""Finqware's operations: the temp_token exchange, a consent's info, its deletion."""

from __future__ import annotations

import copy
import uuid

from ... import kit
from .consent import end, minutes_after, new_consent, render, retention_of, tenant_name, token
from .dialect import bad, unauthorized

TEMP_TOKENS = kit.Tickets("finqware:temp_token", None)  # → {tenant, skill}; until exchanged

handlers = kit.Handlers()


def issue_temp_token(ctx: kit.Context, skill: str) -> str:
    """What a finished onboarding session hands the tenant app's front-end."""
    return TEMP_TOKENS.issue(ctx, {"tenant": ctx.tenant, "skill": skill}, token())


@handlers
def create_token(ctx: kit.Context) -> kit.Reply:
    """Exchange a temp_token once, for the tenant whose onboarding issued it."""
    entry = TEMP_TOKENS.take(ctx, str(ctx.body["temp_token"]), tenant=ctx.tenant)
    if not entry:
        raise unauthorized("invalid_temp_token", "The temp_token is unknown or already exchanged")
    credentials_id, access_token = str(uuid.uuid4()), token()
    data = new_consent(
        credentials_id, access_token, entry["skill"], ctx.tenant, tenant_name(ctx), ctx.now
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
    body |= {"message": "Consent info retrieved", "result": render(_consent(ctx).data)}
    return kit.Reply(200, body)


@handlers
def delete_consent(ctx: kit.Context) -> kit.Reply:
    """ACTIVE → DELETED; idempotent; pcd_data_retention counts from when it stopped being ACTIVE."""
    record = _consent(ctx)
    raw = ctx.body.get("pcd_data_retention")
    retention = None if raw is None else retention_of(raw)

    def change(data: kit.JsonDict) -> kit.JsonDict:
        if data["status"] == "ACTIVE":
            end(data, "DELETED", ctx.now)
        if retention is not None:
            ended = kit.parse_instant(data.get("_ended_at") or data["utc_last_update"])
            try:
                data["max_data_retention"] = minutes_after(ended, retention)
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
