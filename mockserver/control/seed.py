"""/__admin/seed: load a fixture document (in the body, or a file the server can read)."""

from __future__ import annotations

from flask import Response, jsonify

from ..seeding import seed_document, seed_file
from .common import Route, json_object, simulator

__all__ = ["ROUTES", "seed"]


def seed() -> Response:
    body = json_object()
    sim = simulator()
    if "path" in body:
        created = seed_file(sim, str(body["path"]))
    else:
        created = seed_document(sim, body, "request body")
    response = jsonify({"created": created})
    response.status_code = 201
    return response


ROUTES: list[Route] = [
    ("/seed", "POST", seed),
]
