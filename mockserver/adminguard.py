"""What every /__admin blueprint shares: its guard (header size, admin token, unknown query
parameters), JSON errors, and the JSON body reader.

Below the control plane and the webhooks' admin routes, which both install it, so neither
imports the other."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from . import jsoncodec
from .engine import MAX_HEADER_BYTES, header_bytes
from .openapi import admin_query_names
from .runtime import Simulation

__all__ = ["BadAdminRequest", "error", "guard", "json_object", "simulator"]


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


def json_object() -> dict[str, Any]:
    """The request's body as a JSON object ({} when empty); BadAdminRequest (a 400) otherwise."""
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


def guard(bp: Blueprint) -> None:
    """Install the shared checks on an /__admin blueprint, and answer HTTP errors raised in a
    view (a body over the limit) as JSON."""
    bp.before_request(_guard)
    bp.register_error_handler(HTTPException, _http)


def _guard() -> Response | None:
    if header_bytes(request.environ) > MAX_HEADER_BYTES:
        return error(
            431, "headers_too_large", f"headers exceed {MAX_HEADER_BYTES // 1024} KiB in all"
        )
    sim = simulator()
    if sim.admin_token is not None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), sim.admin_token.encode()
        ):
            return _unauthorized()
    # Only where the route has filters to misspell: a page without any (health) may well be a
    # redirect target that the caller's parameters are appended to.
    allowed = _query_names(sim)(request.method, request.path)
    unknown = sorted(set(request.args) - allowed) if allowed else []
    if unknown:
        known = ", ".join(sorted(allowed or ()))
        return error(
            400, "bad_request", f"unknown query parameters: {', '.join(unknown)}; known: {known}"
        )
    return None


def _query_names(sim: Simulation) -> Callable[[str, str], frozenset[str] | None]:
    """Built on first use (the document knows every provider's admin routes), once per app."""
    names: Callable[[str, str], frozenset[str] | None] | None = current_app.extensions.get(
        "mockserver.admin_query_names"
    )
    if names is None:
        names = current_app.extensions["mockserver.admin_query_names"] = admin_query_names(sim)
    return names


def _unauthorized() -> Response:
    response = error(
        401, "unauthorized", "The control plane needs 'Authorization: Bearer <admin token>'."
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="mockserver-admin"'
    return response


def _http(exc: HTTPException) -> Response:
    # Raised inside a view (a body over the limit, a bad form): JSON like every answer here.
    code = exc.code or 500
    return error(code, exc.name.lower().replace(" ", "_"), exc.description or exc.name)
