"""What one request may take: its header lines (431) and a streamed body's size (413)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from ..behaviour import ApiError
from .exchange import Exchange

__all__ = ["MAX_HEADER_BYTES", "header_bytes", "header_size", "size_streamed_body"]

# What a shared sandbox takes of one request's header lines (names and values) before it
# refuses them (431): far above any provider's documented headers, far below what a server
# would buffer for every open connection.
MAX_HEADER_BYTES = 32 * 1024


def header_bytes(environ: Mapping[str, Any]) -> int:
    """The size of a request's header lines, as the WSGI environ holds them. A plain loop:
    the generator it replaces cost a create more than its journal's header masking."""
    total = 0
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            total += len(key) + len(value)
    return total


def header_size(ex: Exchange) -> None:
    """The step: headers over MAX_HEADER_BYTES in all are refused (431)."""
    if header_bytes(ex.request.environ) > MAX_HEADER_BYTES:
        raise ApiError(
            431,
            "headers_too_large",
            f"The request's headers exceed {MAX_HEADER_BYTES // 1024} KiB in all.",
        )


def size_streamed_body(environ: dict[str, Any], limit: int | None) -> None:
    """Give a body sent without Content-Length (chunked) a length, so the body limit holds.

    Werkzeug reads such a stream up to the limit and stops there without a word: a larger
    body would be cut at the limit and parsed as if whole. The body (at most the limit and
    one byte more) is read here instead; one that does not fit is given a length above the
    limit, which every later reader refuses with 413."""
    stream = environ["wsgi.input"]
    cap = None if limit is None else limit + 1
    chunks: list[bytes] = []
    size = 0
    while cap is None or size < cap:
        chunk = stream.read(65536 if cap is None else min(65536, cap - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input_terminated"] = False
    # Werkzeug takes a chunked request's length as unknown, whatever CONTENT_LENGTH says.
    environ.pop("HTTP_TRANSFER_ENCODING", None)
