"""/__admin/<provider>/consents: create, list, show and move consents outside the provider's API."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from ..behaviour import settle
from ..lifecycle import TransitionRefused, create_consent, find_consent, move_consent
from .common import (
    BadAdminRequest,
    Route,
    check_provider,
    error,
    json_object,
    refused,
    simulator,
    tenant_label,
)

__all__ = ["ROUTES", "change_status", "decide", "list_consents", "make_consent", "show_consent"]


def make_consent(provider: str) -> Response:
    check_provider(provider)
    base_url = request.host_url.rstrip("/")
    record, shown = create_consent(simulator(), provider, json_object(), base_url)
    response = jsonify(shown)
    response.status_code = 201
    response.headers["Location"] = f"{base_url}/__admin/{provider}/consents/{record.id}"
    response.headers["ETag"] = record.etag
    return response


def list_consents(provider: str) -> Response:
    check_provider(provider)
    tenant = request.args.get("tenant")
    if not tenant:
        raise BadAdminRequest("give ?tenant=<credential identity> to list its consents")
    sim = simulator()
    definition = sim.runtimes[provider].definition
    now = sim.clock.now(tenant)
    records = [settle(definition, sim.store, r, now) for r in sim.store.list(provider, tenant)]
    return jsonify({"consents": [definition.render(r.data) for r in records if r is not None]})


def show_consent(provider: str, record_id: str) -> Response:
    check_provider(provider)
    sim = simulator()
    record = find_consent(sim, provider, record_id)
    if record is None:
        return error(404, "not_found", f"no {provider} consent {record_id}")
    definition = sim.runtimes[provider].definition
    status = definition.status_of(record.data)
    return jsonify(
        {
            "tenant": tenant_label(provider, record.tenant),
            "status": status,
            "version": record.version,
            "etag": record.etag,
            "allowedTransitions": list(definition.transitions.get(status, ())),
            "consent": definition.render(record.data),
        }
    )


def _moved(provider: str, record_id: str, target: Any, options: dict[str, Any]) -> Response:
    """Apply a transition and answer the consent as the provider shows it (or 409, 404)."""
    sim = simulator()
    try:
        record = move_consent(sim, provider, record_id, target, **options)
    except TransitionRefused as exc:
        return refused(exc)
    if record is None:
        return error(404, "not_found", f"no {provider} consent {record_id}")
    response = jsonify(sim.runtimes[provider].definition.render(record.data))
    response.headers["ETag"] = record.etag
    return response


def decide(provider: str, record_id: str, decision: str) -> Response:
    check_provider(provider)
    definition = simulator().runtimes[provider].definition
    target = {"approve": definition.approved, "reject": definition.rejected}.get(decision)
    if target is None:
        return error(404, "not_found", f"no admin action {decision!r}; use status, approve, reject")
    if not target:
        return error(400, "bad_request", f"{provider} defines no status for {decision}")
    return _moved(provider, record_id, target, json_object())


def change_status(provider: str, record_id: str) -> Response:
    check_provider(provider)
    body = json_object()
    if "status" not in body:
        raise BadAdminRequest('give the new status: {"status": ...}')
    options = {k: v for k, v in body.items() if k != "status"}
    return _moved(provider, record_id, body["status"], options)


ROUTES: list[Route] = [
    ("/<provider>/consents", "POST", make_consent),
    ("/<provider>/consents", "GET", list_consents),
    ("/<provider>/consents/<record_id>", "GET", show_consent),
    ("/<provider>/consents/<record_id>/<decision>", "POST", decide),
    ("/<provider>/consents/<record_id>/status", "POST", change_status),
]
