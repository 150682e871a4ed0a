"""/__admin/faults: list, inject and remove faults."""

from __future__ import annotations

from flask import Response, jsonify

from ..faults import FaultError
from .common import Route, error, json_object, simulator

__all__ = ["ROUTES", "add_fault", "clear_fault", "clear_faults", "faults"]


def faults() -> Response:
    return jsonify({"faults": simulator().faults.list()})


def add_fault() -> Response:
    sim = simulator()
    try:
        fault = sim.faults.add(json_object(), sim.operations())
    except FaultError as exc:
        return error(400, "bad_fault", str(exc))
    response = jsonify(fault.as_dict())
    response.status_code = 201
    return response


def clear_faults() -> Response:
    return jsonify({"deleted": simulator().faults.remove()})


def clear_fault(fault_id: int) -> Response:
    if not simulator().faults.remove(fault_id):
        return error(404, "not_found", f"no fault {fault_id}")
    return jsonify({"deleted": 1})


ROUTES: list[Route] = [
    ("/faults", "GET", faults),
    ("/faults", "POST", add_fault),
    ("/faults", "DELETE", clear_faults),
    ("/faults/<int:fault_id>", "DELETE", clear_fault),
]
