"""The control plane under /__admin: health, clock, consents, credentials, journal, faults, seed.

The views are module-level functions (one module per resource); each reaches the simulator
of the app serving it through `common.simulator()`. `admin_blueprint` builds one blueprint per
app, because each app adds its providers' own admin routes and its published document."""

from __future__ import annotations

from flask import Blueprint, Response

from ..adminguard import guard
from ..openapi import publish_admin
from ..runtime import Simulation
from ..sandbox import Kit
from ..seeding import FixtureError
from . import clock, consents, credentials, faults, health, journal, seed
from .common import BadAdminRequest, Route, check_provider, error

__all__ = ["admin_blueprint"]

# In the order they were registered before the views left one closure (the router keeps it
# for rules of equal weight). The providers' own admin routes come between the two lists.
_CORE = [*health.ROUTES, *clock.ROUTES, *consents.ROUTES, *credentials.ROUTES]
_STATE = [*journal.ROUTES, *faults.ROUTES, *seed.ROUTES]


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


def _add(bp: Blueprint, routes: list[Route]) -> None:
    for rule, method, view in routes:
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=view, methods=[method])


def _bad(exc: ValueError) -> Response:
    return error(400, "bad_request", str(exc))


def _bad_fixture(exc: FixtureError) -> Response:
    return error(400, "bad_fixture", str(exc))
