"""Atto Consent API: client-credentials tokens, bare-array lists, revoke, the Connect journey."""

from __future__ import annotations

from ... import kit

__all__ = ["PROVIDER"]

PROVIDER = kit.assemble(
    __name__,
    "Atto Consent API",
    default_tenant="sandbox-atto-client",
    credentials_doc=(
        "POST /atto/v1/oauth2/token with grant_type=client_credentials, "
        "client_id=sandbox-atto-client, client_secret=sandbox-atto-secret, scope=api:consent; "
        "then `Authorization: Bearer <accessToken>` (tenant = client_id; a new client_id is "
        "registered with the first client_secret it is used with)."
    ),
    secret_fields=frozenset({"client_secret"}),
    approved="Active",
    rejected="Abandoned",
)
