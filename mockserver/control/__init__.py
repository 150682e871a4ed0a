"""The control plane under /__admin: health, reset, clock, consents, journal, faults, seeding.

The views are module-level functions (one module per resource); each reaches the simulator
of the app serving it through `common.simulator()`. `admin_blueprint` builds one blueprint per
app, because each app adds its providers' own admin routes and its published document."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from ..engine import MAX_HEADER_BYTES, header_bytes
from ..openapi import admin_query_names, publish_admin
from ..runtime import Simulation
from ..sandbox import Kit
from ..seeding import FixtureError
from . import clock, consents, faults, health, journal, seed
from .common import BadAdminRequest, check_provider, error, simulator

__all__ = ["admin_blueprint"]

View = Callable[..., Response]

# In the order they were registered before the views left one closure (the router keeps it
# for rules of equal weight). The providers' own admin routes come between the two lists.
_CORE: list[tuple[str, str, View]] = [
    ("/health", "GET", health.health),
    ("/reset", "POST", health.reset),
    ("/clock", "GET", clock.read_clock),
    ("/clock", "POST", clock.move_clock),
    ("/<provider>/consents", "POST", consents.make_consent),
    ("/<provider>/consents", "GET", consents.list_consents),
    ("/<provider>/consents/<record_id>", "GET", consents.show_consent),
    ("/<provider>/consents/<record_id>/<decision>", "POST", consents.decide),
    ("/<provider>/consents/<record_id>/status", "POST", consents.change_status),
]
_STATE: list[tuple[str, str, View]] = [
    ("/requests", "GET", journal.journal),
    ("/requests/unmatched", "GET", journal.unmatched),
    ("/requests", "DELETE", journal.clear_journal),
    ("/faults", "GET", faults.faults),
    ("/faults", "POST", faults.add_fault),
    ("/faults", "DELETE", faults.clear_faults),
    ("/faults/<int:fault_id>", "DELETE", faults.clear_fault),
    ("/seed", "POST", seed.seed),
]


def admin_blueprint(sim: Simulation) -> Blueprint:
    bp = Blueprint("admin", __name__, url_prefix="/__admin")
    bp.before_request(_guard)
    bp.register_error_handler(HTTPException, _http)
    bp.register_error_handler(BadAdminRequest, _bad)
    bp.register_error_handler(ValueError, _bad)
    bp.register_error_handler(FixtureError, _bad_fixture)
    _add(bp, _CORE)
    publish_admin(bp, sim, check_provider)
    for name, runtime in sim.runtimes.items():
        if runtime.definition.admin is not None:
            runtime.definition.admin(Kit(sim, bp, name))
    _add(bp, _STATE)
    return bp


def _add(bp: Blueprint, routes: list[tuple[str, str, View]]) -> None:
    for rule, method, view in routes:
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=view, methods=[method])


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


def _bad(exc: ValueError) -> Response:
    return error(400, "bad_request", str(exc))


def _bad_fixture(exc: FixtureError) -> Response:
    return error(400, "bad_fixture", str(exc))
