"""The journal entry of each request served, its secrets masked."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request

from ..clock import format_instant
from ..journal import fingerprint, header_is_plain, mask_body, mask_header, mask_query
from ..runtime import ProviderRuntime, Simulation
from ..spec import Operation
from ..validation import Violation
from .exchange import Exchange, Outcome

__all__ = ["journal_entry", "journal_failed", "journal_headers", "record", "secret_fields"]

# Per set of secret headers: environ key -> (header name, journaled as sent, kept when
# empty). Names are the client's: each map stays bounded.
_PLANS: dict[frozenset[str], dict[str, tuple[str, bool, bool]]] = {}


def _plan(key: str, secret: frozenset[str]) -> tuple[str, bool, bool]:
    """How one environ key is journaled: what `request.headers.items()` names it (werkzeug's
    EnvironHeaders; "" for a key that is no header), and whether its value is kept as sent."""
    if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        name = key[5:].replace("_", "-").title()
    elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        name = key.replace("_", "-").title()
    else:
        return "", True, False
    return name, header_is_plain(name, secret), key.startswith("HTTP_")


def journal_headers(environ: Mapping[str, Any], secret: frozenset[str]) -> dict[str, str]:
    """`mask_headers(request.headers.items(), secret)` in one pass over the environ, with the
    name and treatment of each key worked out once (the two passes were a tenth of a GET)."""
    plans = _PLANS.get(secret)
    if plans is None:
        if len(_PLANS) >= 64:
            _PLANS.clear()
        plans = _PLANS[secret] = {}
    masked: dict[str, str] = {}
    for key, value in environ.items():
        plan = plans.get(key)
        if plan is None:
            plan = _plan(key, secret)
            if len(plans) < 1024:
                plans[key] = plan
        name, plain, when_empty = plan
        if name and (value or when_empty):
            masked[name] = value if plain else mask_header(name, value, secret)
    return masked


def secret_fields(runtime: ProviderRuntime) -> frozenset[str]:
    """The provider's secret body and query fields (those with a `:` name something else)."""
    fields = runtime.definition.secret_fields
    if type(fields) is not frozenset:  # a set from a hand-made ProviderDef: not hashable
        return frozenset(f for f in fields if ":" not in f)
    return _plain_fields(fields)


@functools.lru_cache(maxsize=64)  # once per provider, not per journal entry
def _plain_fields(fields: frozenset[str]) -> frozenset[str]:
    return frozenset(f for f in fields if ":" not in f)


def journal_entry(
    sim: Simulation,
    runtime: ProviderRuntime,
    operation: Operation | None,
    tenant: str,
    body: Any,
    violations: list[Violation],
    status: int,
    started: float,
    request_id: str,
    request: Request,
) -> dict[str, Any]:
    """A journal entry for the request, its secrets masked."""
    definition = runtime.definition
    secrets = secret_fields(runtime)
    return {
        "requestId": request_id,
        "time": format_instant(sim.clock.now()),
        "provider": runtime.name,
        "operation": operation.operation_id if operation else None,
        "method": request.method,
        "path": request.path,
        "query": mask_query(request.query_string.decode("latin-1"), secrets),
        "tenant": (fingerprint(tenant) if tenant and definition.secret_tenant else tenant or None),
        "headers": journal_headers(request.environ, runtime.secret_headers),
        "body": mask_body(body, secrets),
        "status": status,
        "durationMs": round((time.perf_counter() - started) * 1000, 3),
        "violations": [v.as_dict() for v in violations],
        "valid": not violations,
    }


def journal_failed(exc: Exception, provider: str, operation: str) -> None:
    """A journal write failed (a full disk, a store gone away): say so on stderr, where an
    operator looks, and let the request's own answer go out unchanged."""
    sys.stderr.write(
        f"mockserver: journal entry for {provider} {operation} lost: {type(exc).__name__}: {exc}\n"
    )


def record(ex: Exchange, outcome: Outcome) -> None:
    """The step: the request's journal entry (with a handler bug's traceback)."""
    assert ex.response is not None, "made by the render step"
    try:
        entry = journal_entry(
            ex.sim,
            ex.runtime,
            outcome.operation,
            outcome.tenant,
            outcome.body,
            outcome.request_violations,
            ex.response.status_code,
            ex.started,
            ex.request_id,
            ex.request,
        )
        if outcome.error:
            entry["error"] = outcome.error
        ex.sim.journal.record(entry)
    except Exception as exc:  # the answer stands: its write may be committed already
        journal_failed(exc, ex.runtime.name, ex.op.operation_id)
