"""Optimistic concurrency, where the spec switches it on: If-Match (428), ETag, 304."""

from __future__ import annotations

from flask import Request

from ..behaviour import ApiError, Reply
from ..spec import Operation, ResponseSpec
from ..store import etag_matches
from .exchange import Exchange, header

__all__ = ["if_match_missing", "require_if_match", "with_etag"]


def if_match_missing(op: Operation, request: Request) -> bool:
    return op.if_match and not header(request, "If-Match")


def require_if_match(ex: Exchange) -> None:
    """The step: a conditional operation without If-Match is refused (428)."""
    if ex.op.if_match and not header(ex.request, "If-Match"):
        raise ApiError(
            428,
            "precondition_required",
            "This operation is conditional: send If-Match with the ETag from a GET.",
        )


def with_etag(
    op: Operation,
    reply: Reply,
    declared: ResponseSpec | None,
    headers: dict[str, str],
    request: Request,
) -> tuple[Reply, ResponseSpec | None]:
    """The reply's record's ETag in `headers` where the response declares one; a 304 in place
    of a 200 whose ETag the request's If-None-Match names (where the operation takes it)."""
    if reply.record is None or declared is None or "etag" not in declared.headers:
        return reply, declared
    headers["ETag"] = reply.record.etag
    inm = header(request, "If-None-Match")
    if (
        op.if_none_match
        and reply.status == 200
        and inm
        and etag_matches(inm, reply.record.etag, weak=True)
    ):
        return Reply(304, None, headers, reply.record), op.response_for(304)
    return reply, declared
