"""Fliqa account information: Api-Key/Secret tokens, OTP login, consent data, the bank page."""

from __future__ import annotations

from ... import kit

PROVIDER = kit.assemble(
    __name__,
    "Fliqa account information",
    default_tenant="sandbox-fliqa-key",
    credentials_doc=(
        "`GET /fliqa/service/auth/token/sandbox/sandbox` with `Api-Key: sandbox-fliqa-key` and "
        "`Api-Secret: sandbox-fliqa-secret`, then `Authorization: Bearer <accessToken>`; the "
        "Api-Key value is the tenant (a new key is its own tenant, bound on first use)"
    ),
    secret_tenant=True,
    secret_fields=frozenset({"otp", "header:api-secret"}),
)
