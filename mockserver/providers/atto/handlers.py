"""Atto's credentials (client-credentials tokens), error body and operations."""

from __future__ import annotations

from datetime import timedelta

from ... import kit
from .consent import REVOKED_BY_API, STATES, apply_status, render

CLIENTS = kit.FirstSecret("atto:client", hashed=True)
TOKENS = kit.Tokens("atto:token", timedelta(hours=1), issuer=CLIENTS)  # revoked client: tokens end
registries = (CLIENTS,)


seed_tenant = CLIENTS.seeder("client_secret")  # the fixtures' credentials


def unauthorised(details: str) -> kit.ApiError:
    return kit.ApiError(401, "unauthenticated", details, code="unauthorised_client")


def identify(ctx: kit.Context) -> str:
    """Tenant = client_id: from the token request's body (checked by createToken), or from the
    grant behind the bearer token while it is live on that tenant's clock."""
    if ctx.operation_id == "createToken":
        client_id = ctx.body.get("client_id") if isinstance(ctx.body, dict) else None
        return client_id if isinstance(client_id, str) else ""
    expired = "The access token is unknown or expired."
    return TOKENS.bearer(ctx, "bearerAuth", lambda: unauthorised(expired))


_DESCRIPTIONS = kit.spec_enum_descriptions("atto.yaml", "Error", "code")  # code → description
# The code for an error the provider did not name (engine refusals, injected faults).
_CODE_BY_STATUS = {401: "unauthorised_client", 403: "consent_denied", 404: "consent_not_found"}
_CODE_BY_STATUS |= {422: "provider_unsupported_feature"}


# Violations in words a client developer can act on: (field, the rule it broke) → the words.
_SAID = kit.spec_error_messages("atto.yaml")


def render_error(err: kit.ApiError, scope: kit.ErrorScope) -> kit.Reply:
    """Atto's error body: {code, description, details, correlationId}, always application/json."""
    code = err.code if err.code in _DESCRIPTIONS else None
    if code is None and 400 <= err.status < 500:
        code = _CODE_BY_STATUS.get(err.status, "parameters_invalid")
    code = code or "unexpected_error"
    # The engine also attaches a violation to other refusals; only schema violations need words.
    schema = [v for v in err.violations if v.location != err.kind]
    details = "; ".join(kit.explain(v, _SAID) for v in schema) if schema else err.message
    body = {"code": code, "description": _DESCRIPTIONS[code], "details": details or None}
    body["correlationId"] = scope.request_id
    return kit.Reply(err.status, body, dict(err.headers), media_type="application/json")


def not_found(consent_id: str) -> kit.ApiError:
    message = f"No consent {consent_id} for this client."
    return kit.ApiError(404, "not_found", message, code="consent_not_found")


handlers = kit.Handlers()


@handlers
def create_token(ctx: kit.Context) -> kit.Reply:
    body: kit.JsonDict = ctx.body
    if CLIENTS.claim(ctx, ctx.tenant, str(body["client_secret"])) is None:
        raise unauthorised("Invalid client credentials.")
    token, _ = TOKENS.issue(ctx, scope=str(body["scope"]))
    shown = {"tokenType": "Bearer", "expiresIn": TOKENS.seconds, "accessToken": token}
    return kit.Reply(200, shown)


@handlers
def list_consents(ctx: kit.Context) -> kit.Reply:
    return kit.Reply(200, _listed(ctx))


@handlers
def list_consents_v2(ctx: kit.Context) -> kit.Reply:
    # Simulator choice: every simulated consent is an OpenBanking consent.
    credit = ctx.query.get("dataSourceType") == "CreditInformation"
    return kit.Reply(200, [] if credit else _listed(ctx))


# The filters besides consentStatus (which the store's index serves).
FILTERS = kit.Filters(
    {name: kit.equal(name) for name in ("configurationName", "providerId", "customerReference")}
    | {"userId": kit.equal("userId")}
    | {"from": kit.since("statusUpdated"), "to": kit.until("statusUpdated")}
)


def _listed(ctx: kit.Context) -> list[kit.JsonDict]:
    offset, limit = int(ctx.query.get("offset", 0)), int(ctx.query.get("limit", 0)) or None
    status = ctx.query.get("consentStatus")
    records, _ = FILTERS.page(ctx, status=status, offset=offset, limit=limit)
    return [render(r.data) for r in records]


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
