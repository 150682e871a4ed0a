"""WSGI apps for tests/test_rsgi.py, served by granian's WSGI interface and through WsgiOnRsgi."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

from mockserver.rsgi import WsgiOnRsgi

StartResponse = Callable[..., Any]


def _stream(chunks: list[bytes], broken: bool = False) -> Iterator[bytes]:
    yield from chunks
    if broken:
        raise ConnectionAbortedError("broken off on purpose")


def _echo(environ: dict[str, Any]) -> bytes:
    """What the app was given: as the server passes it, and the path as werkzeug reads it."""
    shown = {
        key: value
        for key, value in environ.items()
        if isinstance(value, str) and key.isupper() and key not in os.environ
    }
    raw_path = environ["PATH_INFO"].encode("latin-1")
    shown["path as werkzeug reads it"] = raw_path.decode("utf-8", "replace")
    shown.pop("PATH_INFO")  # compared as werkzeug reads it: see test_rsgi.py
    # Each server listens on its own port: the same, told apart.
    shown["SERVER_PORT"] = "listening" if environ["SERVER_PORT"].isdigit() else "?"
    shown["body"] = environ["wsgi.input"].read().decode("latin-1")
    return json.dumps(shown, sort_keys=True).encode()


# path -> (status line, headers, body: bytes for a list answer, a list for a stream)
_FIXED: dict[str, tuple[str, list[tuple[str, str]], Any]] = {
    "/no-content": ("204 No Content", [("X-Kept", "yes")], b""),
    "/not-modified": ("304 Not Modified", [("ETag", '"v1"')], b""),
    "/cookies": (
        "200 OK",
        [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; HttpOnly"), ("Content-Length", "2")],
        b"ok",
    ),
    "/large": ("200 OK", [("Content-Type", "application/octet-stream")], bytes(3_000_000)),
    "/stream": ("200 OK", [("Content-Type", "text/plain")], [b"one ", b"", b"two ", b"three"]),
    "/stream-sized": ("200 OK", [("Content-Length", "7")], [b"abc", b"defg"]),
    "/broken": ("200 OK", [("Content-Length", "1024")], [b"{"]),
    "/redirect": ("302 Found", [("Location", "/caf\xc3\xa9"), ("Content-Length", "0")], b""),
}


def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
    """Fixed answers by path (see _FIXED), else an echo of the environ as JSON."""
    path = environ["PATH_INFO"]
    if path not in _FIXED:
        body = _echo(environ)
        start_response("200 OK", [("Content-Type", "application/json"), ("X-Echo", "1")])
        return [body]
    status, headers, body = _FIXED[path]
    start_response(status, list(headers))
    if isinstance(body, list):
        return _stream(body, broken=path == "/broken")
    return [body]


rsgi = WsgiOnRsgi(app, max_body=1 << 20)


def _mockserver() -> Any:
    from mockserver.app import create_app, default_fixture_dir

    return create_app(["api1"], fixtures=default_fixture_dir())


mock = _mockserver()
mock_rsgi = WsgiOnRsgi(mock, max_body=mock.config["MAX_CONTENT_LENGTH"])
