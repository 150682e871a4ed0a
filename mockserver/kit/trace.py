"""Tracing ids an error body or a response's metadata carries: the request's, as hex."""

from __future__ import annotations

import uuid

__all__ = ["trace_hex"]


def trace_hex(request_id: str) -> str:
    """The request's id (a uuid) as 32 lower-case hex digits, as a Java or .NET service logs
    it; a fresh random one for an id that is not a uuid (a move made outside a request)."""
    try:
        return uuid.UUID(request_id).hex
    except ValueError:
        return uuid.uuid4().hex
