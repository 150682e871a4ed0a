"""The rendered response (`Answer`): the status line, header list and body werkzeug would send."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response
from werkzeug.datastructures import Headers
from werkzeug.http import HTTP_STATUS_CODES, remove_entity_headers
from werkzeug.urls import iri_to_uri
from werkzeug.utils import get_content_type

__all__ = ["Answer", "status_line", "to_uri"]

_STATUS_LINES: dict[int, str] = {}
# What a Flask Response without a body or a type says it is.
_DEFAULT_CONTENT_TYPE = get_content_type(Response.default_mimetype or "text/plain", "utf-8")


def status_line(code: int) -> str:
    """werkzeug's status line for a code ("404 NOT FOUND"), worked out once per code."""
    line = _STATUS_LINES.get(code)
    if line is None:
        line = _STATUS_LINES[code] = f"{code} {HTTP_STATUS_CODES.get(code, 'unknown').upper()}"
    return line


def _header_value(name: str, value: Any) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:  # as werkzeug's Headers refuses them
        raise ValueError(f"header {name} contains a newline character")
    if name.lower() in ("location", "content-location"):
        text = to_uri(text)
    return text


# A path of RFC 3986 path characters only (not starting with "//"): iri_to_uri keeps it as is.
_PLAIN_PATH = re.compile(r"/(?!/)[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")


@functools.lru_cache(maxsize=256)
def _uri_head(head: str) -> str:
    return iri_to_uri(head)


def to_uri(value: str) -> str:
    """werkzeug's iri_to_uri (what its Response does to a Location), which took 30 µs, a tenth
    of a create: a URL's scheme and host are converted once per host, and a path of plain
    characters is kept as it is; anything else goes to iri_to_uri whole. The same result:
    tests/test_answer.py compares the two on generated URLs."""
    start = value.find("://")
    if start > 0:
        path_at = value.find("/", start + 3)
        head = value[:path_at]
        if (
            path_at > 0
            and "?" not in head
            and "#" not in head
            and _PLAIN_PATH.fullmatch(value, path_at)
        ):
            return _uri_head(head) + value[path_at:]
    return iri_to_uri(value)


def _set_header(items: list[tuple[str, str]], name: str, value: str) -> None:
    """werkzeug's Headers.set on a list: the first header of that name (any case) takes the
    value in its place, later ones go; appended if there is none."""
    lowered = name.lower()
    found = False
    kept: list[tuple[str, str]] = []
    for key, old in items:
        if key.lower() != lowered:
            kept.append((key, old))
        elif not found:
            kept.append((name, value))
            found = True
    if not found:
        kept.append((name, value))
    items[:] = kept


def _framing_named(items: list[tuple[str, str]]) -> bool:
    """Whether the handler names Content-Type or Content-Length itself (in any case)."""
    return any(key.lower() in ("content-type", "content-length") for key, _ in items)


@dataclass(slots=True)
class Answer:
    """A rendered response, sent by the fast path without building a werkzeug Response.

    werkzeug's Response builds a Headers object, parses its content type, and works its
    headers out again when it is sent: together a fifth of a GET's CPU in the process. This
    holds the final header list instead, made to be byte for byte what that Response would
    send (tests/test_answer.py compares the two): the headers in the handler's order, with
    Content-Type set in place or appended, then Content-Length; none for 204; no entity
    headers for 304; no body for HEAD. Flask's own dispatch (hooks, the test client's
    fallbacks) gets a real Response from `to_response`."""

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes
    content_type: str

    @classmethod
    def build(
        cls,
        status: int,
        headers: Mapping[str, Any],
        body: bytes | None,
        content_type: str | None,
    ) -> Answer:
        items = [(name, _header_value(name, value)) for name, value in headers.items()]
        if 200 <= status and status not in (204, 304) and not _framing_named(items):
            # The common case, without the general one's rebuilt lists (a tenth of render):
            # neither header is the handler's, so both are appended, in this order.
            if content_type is None:
                content_type = _DEFAULT_CONTENT_TYPE
            items.append(("Content-Type", content_type))
            items.append(("Content-Length", "0" if body is None else str(len(body))))
            return cls(status, items, body or b"", content_type)
        if content_type is None and not any(k.lower() == "content-type" for k, _ in items):
            content_type = _DEFAULT_CONTENT_TYPE
        if content_type is not None:
            _set_header(items, "Content-Type", content_type)
        else:  # the handler's own, kept as werkzeug keeps it
            content_type = next(v for k, v in items if k.lower() == "content-type")
        if body is not None:
            _set_header(items, "Content-Length", str(len(body)))
        if status == 204 or 100 <= status < 200:
            items = [(k, v) for k, v in items if k.lower() != "content-length"]
        elif status == 304:
            remove_entity_headers(items)
        elif not any(k.lower() == "content-length" for k, _ in items):
            items.append(("Content-Length", "0"))
        return cls(status, items, body or b"", content_type)

    @property
    def mimetype(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    def __call__(self, environ: Mapping[str, Any], start_response: Any) -> list[bytes]:
        start_response(status_line(self.status_code), self.headers)
        status = self.status_code
        if environ.get("REQUEST_METHOD") == "HEAD" or status in (204, 304) or status < 200:
            return []
        return [self.body]

    def to_response(self) -> Response:
        response = Response(self.body, self.status_code)
        response.headers = Headers(self.headers)
        return response
