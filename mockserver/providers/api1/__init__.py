"""API.1 (Zwapgrid) Consents API: x-api-key tenants, int statuses, ETags, one-time codes."""

from __future__ import annotations

from ... import kit

PROVIDER = kit.assemble(
    __name__,
    "API.1 (Zwapgrid) Consents API",
    default_tenant="sandbox-api1-key",
    credentials_doc="Header `x-api-key: sandbox-api1-key` (any non-empty key is its own tenant).",
    secret_tenant=True,
    approved="ACCEPTED",
    rejected="REVOKED",
)
