"""Requests that match no operation (404/405): the provider's error, and its nearest operations."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Request, Response
from werkzeug.exceptions import HTTPException

from ..behaviour import ApiError
from ..clock import format_instant
from ..journal import mask_headers, mask_query
from ..runtime import ProviderRuntime, Simulation
from .errors import render_error
from .exchange import current_request
from .journaling import secret_fields

__all__ = ["near_misses", "unmatched"]

# The edit distance costs len(path) x len(operation's path): a path longer than any
# operation's by far ranks last whatever its tail, so only its head is compared (and quoted).
_NEAR_MISS_CHARS = 200


def unmatched(
    sim: Simulation, runtimes: Mapping[str, ProviderRuntime], exc: HTTPException
) -> Response:
    """404/405 under a provider's mount: the provider's error body, and a journal entry."""
    request = current_request()
    provider = request.path.strip("/").split("/", 1)[0]
    runtime = runtimes.get(provider)
    if runtime is None:
        return _outside_mounts(runtimes, exc, request)
    local = request.path[len(provider) + 1 :] or "/"
    candidates = near_misses(runtime, request.method, local)
    same_path = [c for c in candidates if c["pathMatches"]]
    if exc.code == 405 or same_path:
        allowed = sorted({c["method"] for c in same_path})
        err = ApiError(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {local}; allowed: {', '.join(allowed)}.",
            headers={"Allow": ", ".join(allowed)},
        )
    else:
        err = ApiError(404, "route_not_found", f"No operation matches {request.method} {local}.")
    request_id = str(uuid.uuid4())
    reply = render_error(sim, runtime, None, err, request_id, request)
    response = Response(
        json.dumps(reply.body),
        err.status,
        reply.headers,
        content_type=reply.media_type or "application/json",
    )
    sim.journal.record(_entry(sim, runtime, request, local, err, request_id, candidates))
    return response


def _outside_mounts(
    runtimes: Mapping[str, ProviderRuntime], exc: HTTPException, request: Request
) -> Response:
    """No provider's mount: a generic body naming the mounts (and the admin API)."""
    body = {
        "error": "not_found" if exc.code == 404 else "method_not_allowed",
        "message": f"No route for {request.method} {request.path}.",
        "providers": sorted(f"/{name}" for name in runtimes),
        "admin": "/__admin",
    }
    response = Response(json.dumps(body), exc.code or 404, mimetype="application/json")
    allowed = getattr(exc, "valid_methods", None)
    if exc.code == 405 and allowed:  # RFC 9110 §15.5.6: a 405 names what is allowed
        response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def _entry(
    sim: Simulation,
    runtime: ProviderRuntime,
    request: Request,
    local: str,
    err: ApiError,
    request_id: str,
    candidates: list[dict[str, Any]],
) -> dict[str, Any]:
    """The journal entry: no operation, the route as the violation, the three nearest."""
    return {
        "requestId": request_id,
        "time": format_instant(sim.clock.now()),
        "provider": runtime.name,
        "operation": None,
        "method": request.method,
        "path": request.path,
        "query": mask_query(request.query_string.decode("latin-1"), secret_fields(runtime)),
        "tenant": None,
        "headers": mask_headers(request.headers.items(), runtime.secret_headers),
        "status": err.status,
        "durationMs": 0.0,
        "violations": [{"in": "route", "name": local, "message": err.message, "schemaPath": ""}],
        "valid": False,
        "nearest": candidates[:3],
    }


def near_misses(runtime: ProviderRuntime, method: str, local: str) -> list[dict[str, Any]]:
    """Every operation of the provider, nearest first, with why it did not match."""
    ranked: list[tuple[int, dict[str, Any]]] = []
    head = local[:_NEAR_MISS_CHARS]
    shown = head if head == local else head + "…"
    for op in runtime.spec.operations.values():
        path_ok = bool(op.path_regex.match(local))
        method_ok = op.method == method
        reasons = []
        if not path_ok:
            reasons.append(f"path {shown} does not match {op.path}")
        if not method_ok:
            reasons.append(f"method {method} is not {op.method}")
        score = (0 if path_ok else 2) + (0 if method_ok else 1)
        item = {
            "operation": op.operation_id,
            "method": op.method,
            "path": op.path,
            "pathMatches": path_ok,
            "why": "; ".join(reasons),
        }
        ranked.append((score * 1000 + _distance(head, op.path), item))
    ranked.sort(key=lambda pair: pair[0])
    return [item for _, item in ranked]


def _distance(a: str, b: str) -> int:
    """Levenshtein distance, for ranking near misses."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
