"""Yapily consents: Basic-auth applications, account authorisations, consent tokens, the clock."""

from __future__ import annotations

from ... import kit

PROVIDER = kit.assemble(
    __name__,
    "Yapily",
    default_tenant="sandbox-yapily-app",
    credentials_doc=(
        "HTTP Basic `sandbox-yapily-app:sandbox-yapily-secret` (Application ID : Application "
        "Secret; the first secret an Application ID sends is registered, another one is 401)."
    ),
    # the `consent` header of re-authorisation and pre-authorisation carries the consent token
    secret_fields=frozenset({"authcode", "onetimetoken", "header:consent"}),
    approved="AUTHORIZED",
    rejected="REJECTED",
)
