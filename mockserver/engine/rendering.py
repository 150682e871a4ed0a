"""The Outcome as an Answer: ETag and 304, an absolute Location, the body's bytes and type."""

from __future__ import annotations

from flask import Response
from werkzeug.utils import get_content_type

from ..behaviour import Reply
from ..faults import dropped_body
from ..jsoncodec import dumps_bytes
from .answer import Answer
from .conditional import with_etag
from .exchange import Exchange, Outcome

__all__ = ["render"]


def render(ex: Exchange, outcome: Outcome) -> None:
    """The step: the response for the outcome, kept with the reply and headers it sends."""
    if outcome.drop:
        # An injected dropped connection: a body shorter than its Content-Length says.
        ex.response = Response(
            dropped_body(), 200, {"Content-Length": "1024"}, content_type="application/json"
        )
        return
    op = ex.op
    reply = outcome.reply
    headers = dict(reply.headers)
    reply, declared = with_etag(op, reply, op.response_for(reply.status), headers, ex.request)
    if reply.location is not None:
        headers["Location"] = f"{ex.host_url()}/{ex.runtime.name}{reply.location}"
    media_type = reply.media_type or (declared.media_type if declared else None)
    ex.reply, ex.headers = reply, headers
    ex.response = _answer(reply, headers, media_type)


def _answer(reply: Reply, headers: dict[str, str], media_type: str | None) -> Answer:
    if reply.body is None or reply.status in (204, 304):
        return Answer.build(reply.status, headers, None, None)
    if isinstance(reply.body, str):
        content_type = get_content_type(media_type or "text/plain", "utf-8")
        return Answer.build(reply.status, headers, reply.body.encode(), content_type)
    payload = dumps_bytes(reply.body)
    return Answer.build(reply.status, headers, payload, media_type or "application/json")
