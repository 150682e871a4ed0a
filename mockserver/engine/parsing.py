"""The request body: parsed by its media type (JSON, a form), or refused (415, 400)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from flask import Request

from .. import jsoncodec
from ..behaviour import ApiError
from ..spec import Operation
from .exchange import Exchange, mimetype

__all__ = ["parse_body"]


def parse_body(ex: Exchange) -> None:
    """The step: the body the handler and the validation get (None if the operation takes
    none or none was sent)."""
    op, request = ex.op, ex.request
    if op.body_media:
        raw = request.get_data(cache=True)
        if raw:
            ex.body = _parse(op, request, raw)


def _parse(op: Operation, request: Request, raw: bytes) -> Any:
    media = mimetype(request)
    if media not in op.body_media:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {media or '(none)'!r} is not accepted here; "
            f"send {' or '.join(op.body_media)}.",
        )
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        return jsoncodec.loads(raw)
    except ValueError as exc:
        raise ApiError(
            400, "malformed_body", f"The request body is not valid JSON: {exc}."
        ) from None
