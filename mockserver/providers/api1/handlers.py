"""API.1's operations, its x-api-key tenants and RFC 7807 problem details."""

from __future__ import annotations

import base64
import math
import secrets
import uuid
from datetime import timedelta

from ... import kit
from .consent import STATES, move, new_consent, render

# x-api-key → {} (the key is its own secret): registered by the fixtures and the admin API.
KEYS = kit.FirstSecret("api1:key", hashed=True)
identify = kit.api_key_tenant("ApiKey", KEYS)
registries = (KEYS,)
seed_tenant = KEYS.key_seeder("none: the x-api-key is the tenant")  # `credentials: {}`


def render_error(err: kit.ApiError, scope: kit.ErrorScope) -> kit.Reply:
    """RFC 7807 problem details, as an ASP.NET Core service writes them."""
    return kit.problem_details(err, scope, _accepted)


def _accepted(violation: kit.Violation) -> str:
    """A list parameter's pattern violation says what is accepted, not the regular expression."""
    if violation.location == "query" and violation.schema_path.endswith("pattern"):
        return ACCEPTED.get((violation.name, "pattern"), violation.message)
    return violation.message


def not_found(consent_id: str) -> kit.ApiError:
    return kit.ApiError(404, "not_found", f"Consent {consent_id} was not found.")


ONE_TIME_CODES = kit.Grants("api1:otc", timedelta(hours=1))
# A deleted consent is remembered so that deleting it again answers 204 (idempotent, SCOPE.md),
# but not for ever: that would let any client grow the store without end by creating and
# deleting. Remembered a day on the tenant's clock, the last TOMBSTONES_PER_KEY per API key;
# past either, deleting it again answers 404 as for an id that never existed.
TOMBSTONES_PER_KEY = 100
TOMBSTONES = kit.Tickets("api1:deleted", timedelta(days=1), per_owner=TOMBSTONES_PER_KEY)

handlers = kit.Handlers()


@handlers
def create_consent(ctx: kit.Context) -> kit.Reply:
    consent_id = str(uuid.uuid4())
    record = ctx.insert(consent_id, new_consent(consent_id, ctx.body["name"], ctx.now))
    location = f"/api/v1/consents/{consent_id}"
    return kit.Reply(201, render(record.data), record=record, location=location)


@handlers
def get_consent(ctx: kit.Context) -> kit.Reply:
    record = kit.owned(ctx, not_found)
    return kit.Reply(200, render(record.data), record=record)


@handlers
def update_consent(ctx: kit.Context) -> kit.Reply:
    record = kit.owned(ctx, not_found)
    body: kit.JsonDict = ctx.body
    if "status" in body and body["status"] != STATES.stored("REVOKED"):
        said = "can only be set to REVOKED (2)"
        raise kit.invalid("body", "status", f"status {said}.", said=said)

    def change(data: kit.JsonDict) -> kit.JsonDict:
        if "name" in body:
            data["name"] = body["name"]
        data["updatedOn"] = kit.format_instant(ctx.now)
        return move(data, "REVOKED", ctx.now) if "status" in body else data

    return kit.Reply(204, record=ctx.update_if_match(record, change))


@handlers
def delete_consent(ctx: kit.Context) -> kit.Reply:
    consent_id = ctx.path["consentId"]
    tombstone = f"{ctx.tenant}|{consent_id}"
    if ctx.fetch(consent_id) is not None:
        ctx.store.delete(ctx.provider.name, ctx.tenant, consent_id)
        TOMBSTONES.issue(ctx, True, tombstone, owner=ctx.tenant)
    elif not TOMBSTONES.peek(ctx, tombstone):
        raise not_found(consent_id)
    return kit.Reply(204)


@handlers
def create_one_time_code(ctx: kit.Context) -> kit.Reply:
    record = kit.owned(ctx, not_found)
    status = STATES.status_of(record.data)
    if status != "CREATED":
        said = "A one-time code can only be created for a CREATED consent"
        raise kit.ApiError(409, "invalid_state", f"{said}; this one is {status}.")
    # Standard base64 on purpose: the real code is not URL-encoded, and clients must encode it.
    code = base64.b64encode(secrets.token_bytes(12)).decode()
    ONE_TIME_CODES.grant(ctx, record.id, code)
    return kit.Reply(201, {"code": code})


# The list orders (FACTS-2 §4.2 leaves the syntax open): the stored fields OrderBy may name.
ORDER_FIELDS = ("createdOn", "updatedOn", "name", "status")
# What the 400 lists when a list parameter does not match its pattern in the spec.
ACCEPTED = kit.spec_error_messages("api1.yaml")


@handlers
def list_consents(ctx: kit.Context) -> kit.Reply:
    query = ctx.query
    count, page = int(query.get("Count", 10)), int(query.get("CurrentPage", 1))
    status = STATES.parse_status(query["Status"]) if "Status" in query else None
    field, descending = kit.order_clause(str(query.get("OrderBy", "createdOn desc")), ORDER_FIELDS)
    paging: kit.JsonDict = {"status": status, "descending": descending}
    paging |= {"offset": (page - 1) * count, "limit": count}
    if field == "createdOn":  # the store's own order: only this page is read
        records, total = FILTERS.page(ctx, **paging)
    else:  # null first ascending, last descending (SQL Server's); status 0 sorts as itself
        records, total = FILTERS.ordered(ctx, field, **paging)
    meta = {"currentPage": page, "pageSize": count, "totalCount": total}
    meta["totalPages"] = math.ceil(total / count)
    return kit.Reply(200, {"data": [render(r.data) for r in records], "meta": meta})


def _settings_id(data: kit.JsonDict, wanted: str) -> bool:
    ids = {str(data.get("systemSettingsId") or "").lower()}
    ids |= {str(v).lower() for v in (data.get("systemSettings") or {}).values()}
    return wanted.lower() in ids


# The filters besides Status (which the store's index serves).
FILTERS = kit.Filters(
    {
        "Source": kit.equal("source", fold=True),
        "Name": lambda d, v: v.lower() in str(d.get("name") or "").lower(),
        "IsTest": lambda d, v: bool(d.get("_isTest", True)) == v,
        "SystemSettingsId": _settings_id,
        "CreatedOn": lambda d, v: str(d["createdOn"]).startswith(v),
        "UpdatedOn": lambda d, v: str(d.get("updatedOn") or "").startswith(v),
    }
)
