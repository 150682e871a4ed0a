"""Finqware v1: credentials in the JSON body, per-consent tokens, a temp_token exchange."""

from __future__ import annotations

from ... import kit

PROVIDER = kit.assemble(
    __name__,
    "Finqware",
    default_tenant="sandbox-finqware-client",
    credentials_doc=(
        'Body fields "client_id": "sandbox-finqware-client", "client_secret": '
        '"sandbox-finqware-secret" (a new client_id registers the first client_secret sent).'
    ),
    secret_fields=frozenset({"client_secret", "client_app_key", "access_token", "temp_token"}),
)
