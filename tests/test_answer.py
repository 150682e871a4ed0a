"""The fast path's Answer sends byte for byte what the werkzeug Response it replaces sent."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Response
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.urls import iri_to_uri

from mockserver.engine import Answer, to_uri


def _old_response(
    status: int, headers: dict[str, Any], body: Any, media_type: str | None
) -> Response:
    """How the engine rendered a reply before Answer (engine._respond, at 5bf2120)."""
    if body is None or status in (204, 304):
        return Response(status=status, headers=headers)
    if isinstance(body, str):
        return Response(body, status, headers, mimetype=media_type or "text/plain")
    return Response(body, status, headers, content_type=media_type or "application/json")


def _new_answer(status: int, headers: dict[str, Any], body: Any, media_type: str | None) -> Answer:
    from werkzeug.utils import get_content_type

    if body is None or status in (204, 304):
        return Answer.build(status, headers, None, None)
    if isinstance(body, str):
        content_type = get_content_type(media_type or "text/plain", "utf-8")
        return Answer.build(status, headers, body.encode(), content_type)
    return Answer.build(status, headers, body, media_type or "application/json")


def _send(app: Any, method: str) -> tuple[str, list[tuple[str, str]], bytes]:
    environ = EnvironBuilder(path="/x", method=method).get_environ()
    started: list[Any] = []
    body = b"".join(app(environ, lambda status, headers: started.extend([status, headers])))
    return started[0], list(started[1]), body


CASES: list[tuple[int, dict[str, Any], Any, str | None]] = [
    (200, {"ETag": '"v1"', "x-request-id": "r"}, b'{"a":1}', None),
    (200, {}, b'{"a":"\xc3\xa9"}', "application/vnd.api+json"),
    (201, {"Location": "http://h/api1/consents/\u00e9 x", "ETag": '"1"'}, b"{}", None),
    (200, {"Content-Type": "text/csv"}, b"a,b", "application/json"),
    (200, {"content-type": "text/csv", "X-A": 1}, b"a,b", None),
    (200, {}, "plain words \u00e9", None),
    (200, {}, "<xml/>", "application/xml"),
    (200, {}, None, None),
    (400, {"content-type": "application/problem+json"}, None, None),
    (204, {"ETag": '"2"'}, None, None),
    (304, {"ETag": '"2"', "Content-Type": "application/json", "Expires": "0"}, None, None),
    (404, {"WWW-Authenticate": "Bearer"}, b'{"error":"x"}', "application/json"),
    (299, {}, b"{}", None),
    (200, {"Content-Length": "99", "X-B": "b"}, b"{}", None),
    (503, {"Retry-After": 5}, b"{}", None),
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("status", "headers", "body", "media_type"), CASES)
def test_answer_matches_werkzeug(
    method: str, status: int, headers: dict[str, Any], body: Any, media_type: str | None
) -> None:
    old = _old_response(status, dict(headers), body, media_type)
    new = _new_answer(status, dict(headers), body, media_type)
    assert _send(new, method) == _send(old, method)
    assert new.status_code == old.status_code
    assert new.mimetype == old.mimetype
    # Flask's own dispatch gets a Response that sends the same
    assert _send(new.to_response(), method) == _send(old, method)


def test_answer_refuses_a_newline_in_a_header_as_werkzeug_does() -> None:
    with pytest.raises(ValueError):
        Response("{}", 200, {"X-Bad": "a\r\nSet-Cookie: b"})
    with pytest.raises(ValueError, match="X-Bad"):
        Answer.build(200, {"X-Bad": "a\r\nSet-Cookie: b"}, b"{}", "application/json")


_HOSTS = st.text("abcXYZ019.-[]:@?#é", max_size=14)
_PORTS = st.sampled_from(["", ":", ":0012", ":4010", ":99999"])
_PATHS = st.lists(st.text("AZaz09-._~!$&'()*+,;=:@%/?#[] é", max_size=12), max_size=5)


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(["http", "HTTPS", "", "mailto:"]), _HOSTS, _PORTS, _PATHS)
def test_location_becomes_the_uri_werkzeug_makes_of_it(
    scheme: str, host: str, port: str, segments: list[str]
) -> None:
    value = (f"{scheme}://" if scheme else "") + host + port + "".join("/" + s for s in segments)
    try:
        expected: object = iri_to_uri(value)
    except Exception as exc:  # noqa: BLE001 - the same failure is expected
        expected = type(exc)
    try:
        got: object = to_uri(value)
    except Exception as exc:  # noqa: BLE001
        got = type(exc)
    assert got == expected
