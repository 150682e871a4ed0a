"""Refusals in the provider's own error format: a step's ApiError, 413, a handler's 500."""

from __future__ import annotations

from flask import Request

from ..behaviour import ApiError, ErrorScope, Reply
from ..jsoncodec import dumps_bytes
from ..runtime import ProviderRuntime, Simulation
from ..spec import Operation
from ..validation import Violation
from .answer import Answer
from .exchange import Exchange, Outcome

__all__ = ["error_answer", "failed", "refused", "render_error", "too_large"]


def render_error(
    sim: Simulation,
    runtime: ProviderRuntime,
    op: Operation | None,
    err: ApiError,
    request_id: str,
    request: Request,
) -> Reply:
    """The provider's `render_error` for this request, the error's own headers added."""
    scope = ErrorScope(
        provider=runtime.name,
        method=request.method,
        path=request.path,
        operation_id=op.operation_id if op else None,
        now=sim.clock.now(),
        request_headers=dict(request.headers.items()),
        request_id=request_id,
    )
    reply = runtime.definition.render_error(err, scope)
    reply.headers.update(err.headers)
    return reply


def error_answer(reply: Reply) -> Answer:
    """An engine refusal's rendered reply (see render_error), ready to send."""
    body = reply.body
    if isinstance(body, str):
        return Answer.build(
            reply.status, reply.headers, body.encode(), reply.media_type or "text/plain"
        )
    payload = None if body is None else dumps_bytes(body)
    return Answer.build(
        reply.status, reply.headers, payload, reply.media_type or "application/json"
    )


# Refusals that mean the request itself broke the contract, even without a schema violation:
# the journal entry names the refusal as the request's violation.
_CONTRACT_KINDS = frozenset(
    {
        "unauthenticated",
        "malformed_body",
        "unsupported_media_type",
        "payload_too_large",
        "precondition_required",
        "invalid_request",
    }
)


def _reply(ex: Exchange, err: ApiError) -> Reply:
    return render_error(ex.sim, ex.runtime, ex.op, err, ex.request_id, ex.request)


def refused(ex: Exchange, err: ApiError) -> Outcome:
    """A step's ApiError; a contract refusal without violations gets one naming it."""
    if not err.violations:
        err.violations = ex.violations
    if not err.violations and err.kind in _CONTRACT_KINDS:
        err.violations = [Violation(err.kind, "", err.message)]
    return Outcome(_reply(ex, err), ex.op, ex.tenant, err.violations, ex.body, kind=err.kind)


def too_large(ex: Exchange) -> Outcome:
    """A body over the app's limit, found when a step read it."""
    err = ApiError(413, "payload_too_large", "The request body is larger than allowed.")
    return Outcome(_reply(ex, err), ex.op, ex.tenant, [], None, kind=err.kind)


def failed(ex: Exchange, trace: str) -> Outcome:
    """A handler bug: a 500 in the provider's format, the traceback kept for the journal."""
    bug = ApiError(500, "server_error", "The simulator failed to handle this request.")
    return Outcome(_reply(ex, bug), ex.op, ex.tenant, ex.violations, ex.body, trace, bug.kind)
