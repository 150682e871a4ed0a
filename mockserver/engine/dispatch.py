"""The provider's handler for the operation: its Reply ends the request steps."""

from __future__ import annotations

from ..store import RecordNotFound
from .exchange import Exchange, Outcome

__all__ = ["call_handler"]


def call_handler(ex: Exchange) -> Outcome:
    """The step: the handler's reply, once more if its record went in the meantime."""
    ctx = ex.ctx
    assert ctx is not None, "made by the identify step"
    handler = ex.runtime.definition.handlers.by_name[ex.op.handler_name]
    try:
        reply = handler(ctx)
    except RecordNotFound:
        # Deleted between the handler's read and its write (a DELETE racing this request):
        # answer as if this request had come after the delete. The handler reads again,
        # finds nothing, and refuses in the provider's own words.
        reply = handler(ctx)
    return Outcome(reply, ex.op, ex.tenant, ex.violations, ex.body)
