"""Yapily consents: Basic-auth applications, account authorisations, consent tokens, the clock."""

from __future__ import annotations

from ... import kit
from . import admin, consent, dialect, handlers, pages
from .tokens import verify_token

__all__ = ["PROVIDER", "STATUSES", "verify_token"]

STATUSES = consent.STATES.statuses

PROVIDER = kit.assemble(
    "yapily",
    "Yapily",
    consent.STATES,
    consent,
    admin,
    dialect,
    handlers,
    pages,
    default_tenant="sandbox-yapily-app",
    credentials_doc=(
        "HTTP Basic `sandbox-yapily-app:sandbox-yapily-secret` (Application ID : Application "
        "Secret; the first secret an Application ID sends is registered, another one is 401)."
    ),
    secret_fields=frozenset({"authcode", "onetimetoken"}),
    approved="AUTHORIZED",
    rejected="REJECTED",
)
