"""/__admin/health and /__admin/reset."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify

from ..runtime import Simulation
from .common import BadAdminRequest, Route, json_object, simulator

__all__ = ["ROUTES", "health", "reset"]


def _quietly(read: Callable[[], int]) -> int | None:
    try:
        return read()
    except Exception:  # reported by _problems; health itself must still answer
        return None


def _problems(sim: Simulation) -> list[str]:
    """What would stop a provider request from being served: the clock's settings and the
    store, each read the way a request reads them."""
    problems: list[str] = []
    try:
        sim.clock.check()
    except ValueError as exc:
        problems.append(f'clock: {exc}; POST /__admin/clock {{"reset": true}} repairs it')
    except Exception as exc:  # a store that cannot read the clock's settings
        problems.append(f"clock: cannot read its settings ({type(exc).__name__}: {exc})")
    try:
        sim.store.count()
    except Exception as exc:
        problems.append(f"store: {type(exc).__name__}: {exc}")
    return problems


def _providers(sim: Simulation) -> dict[str, Any]:
    return {
        name: {
            "title": rt.definition.title,
            "mount": f"/{name}",
            "operations": sorted(rt.spec.operations),
            "defaultTenant": rt.definition.default_tenant,
            "statuses": list(rt.definition.statuses),
            "approve": rt.definition.approved or None,
            "reject": rt.definition.rejected or None,
        }
        for name, rt in sim.runtimes.items()
    }


def health() -> Response:
    sim = simulator()
    problems = _problems(sim)
    response = jsonify(
        {
            "status": "unavailable" if problems else "ok",
            "problems": problems,
            "providers": _providers(sim),
            "consents": _quietly(sim.store.count),
            "journal": {"size": _quietly(sim.journal.__len__), "capacity": sim.journal.capacity},
            "strict": sim.strict,
            "store": type(sim.store).__name__,
            "pid": os.getpid(),
        }
    )
    # 503 while a provider request could not be served: a load balancer or a test's
    # readiness probe must not take a broken simulator for a healthy one.
    response.status_code = 503 if problems else 200
    return response


def reset() -> Response:
    body = json_object()
    reseed = body.pop("fixtures", True)
    if body or not isinstance(reseed, bool):  # "false" must not mean "reseed"
        raise BadAdminRequest('the body is {"fixtures": true|false}, or empty')
    sim = simulator()
    sim.reset(reseed=reseed)
    return jsonify({"reset": True, "consents": sim.store.count()})


ROUTES: list[Route] = [
    ("/health", "GET", health),
    ("/reset", "POST", reset),
]
