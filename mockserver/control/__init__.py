"""The control plane under /__admin: health, clock, consents, credentials, journal, faults, seed.

The views are module-level functions (one module per resource); each reaches the simulator
of the app serving it through `common.simulator()`. `admin_blueprint` builds one blueprint per
app, because each app adds its providers' own admin routes and its published document."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response

from ..adminguard import guard
from ..openapi import publish_admin
from ..runtime import Simulation
from ..sandbox import Kit
from ..seeding import FixtureError
from . import clock, consents, credentials, faults, health, journal, seed
from .common import BadAdminRequest, check_provider, error

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
    ("/<provider>/credentials", "POST", credentials.register_credential),
    ("/<provider>/credentials", "GET", credentials.list_credentials),
    ("/<provider>/credentials/<credential>", "DELETE", credentials.revoke_credential),
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
    guard(bp)
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


def _bad(exc: ValueError) -> Response:
    return error(400, "bad_request", str(exc))


def _bad_fixture(exc: FixtureError) -> Response:
    return error(400, "bad_fixture", str(exc))
