"""What every admin view shares: the simulator of the current app, JSON errors, the body."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request

from .. import jsoncodec
from ..journal import fingerprint
from ..lifecycle import TransitionRefused
from ..runtime import Simulation

__all__ = [
    "BadAdminRequest",
    "check_provider",
    "error",
    "json_object",
    "refused",
    "simulator",
    "tenant_label",
]


class BadAdminRequest(ValueError):
    """A request the control plane cannot act on: answered 400 `bad_request`."""


def simulator() -> Simulation:
    """The simulator of the app serving this request (`create_app` puts it there)."""
    sim: Simulation = current_app.extensions["mockserver"]
    return sim


def error(status: int, code: str, message: str, **extra: Any) -> Response:
    response = jsonify({"error": code, "message": message, **extra})
    response.status_code = status
    return response


def refused(exc: TransitionRefused) -> Response:
    """409: the provider does not allow this status change; the body says what it allows."""
    return error(
        409,
        "transition_not_allowed",
        str(exc),
        current=exc.current,
        requested=exc.wanted,
        allowed=list(exc.allowed),
    )


def json_object() -> dict[str, Any]:
    raw = request.get_data()
    if not raw:
        return {}
    try:
        body = jsoncodec.loads(raw)
    except ValueError as exc:
        raise BadAdminRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadAdminRequest("the body must be a JSON object")
    return body


def check_provider(name: str) -> None:
    sim = simulator()
    if name not in sim.runtimes:
        raise BadAdminRequest(f"unknown provider {name!r}; served: {', '.join(sim.runtimes)}")


def tenant_label(provider: str, tenant: str) -> str:
    """The tenant as the control plane shows it: a fingerprint when it is a secret."""
    secret = simulator().runtimes[provider].definition.secret_tenant
    return fingerprint(tenant) if secret else tenant
