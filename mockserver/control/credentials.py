"""/__admin/<provider>/credentials: register, list and revoke the credentials a provider accepts."""

from __future__ import annotations

from flask import Response, jsonify, request

from ..credentials import describe, listing, registered, revoke
from ..lifecycle import admin_context
from .common import BadAdminRequest, Route, check_provider, error, json_object, simulator

__all__ = ["ROUTES", "list_credentials", "register_credential", "revoke_credential"]


def register_credential(provider: str) -> Response:
    """201: the credential as the list shows it (secrets masked); 409 if already registered."""
    check_provider(provider)
    fields = json_object()
    tenant = fields.pop("tenant", None)
    if not isinstance(tenant, str) or not tenant.strip():
        raise BadAdminRequest("tenant: give the credential's identity, a non-empty string")
    sim = simulator()
    definition = sim.runtimes[provider].definition
    if definition.seed_tenant is None:
        raise BadAdminRequest(f"{provider} registers no credentials")
    ctx = admin_context(sim, provider, tenant)
    if tenant in registered(ctx):
        return error(
            409,
            "already_registered",
            f"{provider} tenant {tenant!r} is registered: DELETE it first to register it again",
        )
    definition.seed_tenant(ctx, fields)  # the fixtures' `credentials` rules; ValueError → 400
    shown = describe(ctx, tenant, fields)
    response = jsonify(shown)
    response.status_code = 201
    base_url = request.host_url.rstrip("/")
    response.headers["Location"] = f"{base_url}/__admin/{provider}/credentials/{shown['id']}"
    return response


def list_credentials(provider: str) -> Response:
    check_provider(provider)
    return jsonify({"credentials": listing(admin_context(simulator(), provider, ""))})


def revoke_credential(provider: str, credential: str) -> Response:
    """Revoke by id, tenant or tenant fingerprint: the provider then answers its own 401, and
    the tokens issued with the credential end."""
    check_provider(provider)
    sim = simulator()
    ctx = admin_context(sim, provider, "")
    revoked = revoke(ctx, sim.runtimes[provider].definition.registries, credential)
    if revoked is None:
        return error(404, "not_found", f"no {provider} credential {credential!r}")
    return jsonify({"revoked": revoked})


ROUTES: list[Route] = [
    ("/<provider>/credentials", "POST", register_credential),
    ("/<provider>/credentials", "GET", list_credentials),
    ("/<provider>/credentials/<credential>", "DELETE", revoke_credential),
]
