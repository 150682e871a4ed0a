"""/__admin/clock: read, advance, set, freeze or reset the simulated clock."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from ..clock import parse_duration, parse_instant
from .common import BadAdminRequest, Route, json_object, simulator

__all__ = ["ROUTES", "move_clock", "read_clock"]

_FIELDS = (("advance", str), ("set", str), ("freeze", bool), ("reset", bool))


def read_clock() -> Response:
    return jsonify(simulator().clock.describe(request.args.get("tenant") or None))


def _checked(body: dict[str, Any]) -> str | None:
    """The tenant the body names, once the body is one well-formed clock action."""
    tenant = body.get("tenant")
    if tenant is not None and not isinstance(tenant, str):
        raise BadAdminRequest("tenant must be a string")
    unknown = set(body) - {"tenant", "advance", "set", "freeze", "reset"}
    if unknown:
        raise BadAdminRequest(
            f"unknown clock fields: {', '.join(sorted(unknown))}; "
            "use advance (ISO 8601 duration), set (RFC 3339), freeze, reset"
        )
    for name, kind in _FIELDS:
        if name in body and not isinstance(body[name], kind):
            wanted = "a string" if kind is str else "true or false"
            raise BadAdminRequest(f"{name} must be {wanted}")
    actions = [name for name in ("reset", "advance", "set") if name in body]
    if len(actions) > 1 or (actions not in ([], ["set"]) and "freeze" in body):
        raise BadAdminRequest(
            "one action at a time: advance, set (with or without freeze), freeze or reset"
        )
    if body.get("reset") is False:
        raise BadAdminRequest('reset takes true only: {"reset": true}')
    return tenant


def move_clock() -> Response:
    body = json_object()
    tenant = _checked(body)
    clock = simulator().clock
    if body.get("reset"):
        clock.reset()
    elif "advance" in body:
        clock.advance(parse_duration(body["advance"]), tenant)
    elif "set" in body:
        clock.set(parse_instant(body["set"]), freeze=bool(body.get("freeze")), tenant=tenant)
    elif "freeze" in body:
        clock.set(clock.now(), freeze=bool(body["freeze"]))
    else:
        raise BadAdminRequest("say what to do: advance, set, freeze or reset")
    return jsonify(clock.describe(tenant))


ROUTES: list[Route] = [
    ("/clock", "GET", read_clock),
    ("/clock", "POST", move_clock),
]
