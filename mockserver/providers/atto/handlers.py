"""Atto's operations: the token endpoint, bare-array lists, a consent, its revocation."""

from __future__ import annotations

from ... import kit
from .consent import REVOKED_BY_API, STATES, apply_status, render
from .dialect import CLIENTS, TOKEN_LIFETIME, TOKENS, not_found, unauthorised

handlers = kit.Handlers()


@handlers
def create_token(ctx: kit.Context) -> kit.Reply:
    body: kit.JsonDict = ctx.body
    if CLIENTS.claim(ctx, ctx.tenant, str(body["client_secret"])) is None:
        raise unauthorised("Invalid client credentials.")
    token, _ = TOKENS.issue(ctx, scope=str(body["scope"]))
    lifetime = int(TOKEN_LIFETIME.total_seconds())
    return kit.Reply(200, {"tokenType": "Bearer", "expiresIn": lifetime, "accessToken": token})


@handlers
def list_consents(ctx: kit.Context) -> kit.Reply:
    return kit.Reply(200, _listed(ctx))


@handlers
def list_consents_v2(ctx: kit.Context) -> kit.Reply:
    # Simulator choice: every simulated consent is an OpenBanking consent.
    credit = ctx.query.get("dataSourceType") == "CreditInformation"
    return kit.Reply(200, [] if credit else _listed(ctx))


def _listed(ctx: kit.Context) -> list[kit.JsonDict]:
    query = ctx.query
    records, _ = kit.filtered_page(
        ctx,
        _FILTERS,
        lambda d: _matches(d, query),
        status=query.get("consentStatus"),
        offset=int(query.get("offset", 0)),
        limit=int(query.get("limit", 0)) or None,
    )
    return [render(r.data) for r in records]


_FILTERS = ("configurationName", "providerId", "customerReference", "userId", "from", "to")


def _matches(data: kit.JsonDict, query: kit.JsonDict) -> bool:
    """The filters besides consentStatus (which the store's index serves)."""
    for name in ("configurationName", "providerId", "customerReference", "userId"):
        if name in query and data.get(name) != query[name]:
            return False
    updated = kit.parse_instant(str(data["statusUpdated"]))
    if "from" in query and updated < kit.parse_instant(str(query["from"])):
        return False
    return "to" not in query or updated <= kit.parse_instant(str(query["to"]))


@handlers
def get_consent(ctx: kit.Context) -> kit.Reply:
    return kit.Reply(200, render(kit.owned(ctx, not_found).data))


@handlers
def revoke_consent(ctx: kit.Context) -> kit.Reply:
    def change(data: kit.JsonDict) -> kit.JsonDict:
        status = STATES.status_of(data)
        if status != "Active":
            code = "consent_expired" if status == "Expired" else "consent_revoked"
            message = f"Only an Active consent can be revoked; this one is {status}."
            raise kit.ApiError(403, "forbidden", message, code=code)
        return apply_status(data, "Revoked", ctx.now, REVOKED_BY_API)

    ctx.update(kit.owned(ctx, not_found), change)
    return kit.Reply(204)
