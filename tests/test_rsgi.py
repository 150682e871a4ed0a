"""WsgiOnRsgi sends, byte for byte, what granian's WSGI interface sent for the same WSGI app."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.testing import free_port

TESTS = Path(__file__).parent
CONSENT = "/api1/api/v1/consents/6f1f4f0e-2b1a-4c1e-9a43-3d6c2b9f0a01"
API1 = "x-api-key: sandbox-api1-key\r\nx-correlation-id: 5f0c9f5e-7d1b-4a7e-9d2a-0b8f6f1c2d3e\r\n"


def _serve(interface: str, target: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, "-m", "granian", "--interface", interface, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--blocking-threads", "1", target]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            assert process.poll() is None, f"{target} did not start (its stderr says why)"
            assert time.monotonic() < deadline, f"{target} did not start in 60 s"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, int]]:
    """The echo app and the simulator, each under both interfaces: their ports by name."""
    started = {
        "echo wsgi": _serve("wsgi", "wsgi_echo:app"),
        "echo rsgi": _serve("rsgi", "wsgi_echo:rsgi"),
        "mock wsgi": _serve("wsgi", "wsgi_echo:mock"),
        "mock rsgi": _serve("rsgi", "wsgi_echo:mock_rsgi"),
    }
    try:
        yield {name: port for name, (_, port) in started.items()}
    finally:
        for process, _ in started.values():
            process.terminate()
            process.wait(10)


def exchange(port: int, request: bytes) -> bytes:
    """Everything the server sends for `request` until it closes, without its Date header."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):  # answered and closed before the end
            pass
        received = b""
        try:
            while chunk := sock.recv(1 << 16):
                received += chunk
        except ConnectionResetError:  # a body broken off: what came before it counts
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _request(method: str, target: str, headers: str = "", body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}"
    return head.encode() + b"\r\n" + body


ECHO = [
    _request("GET", "/"),
    _request("GET", "/a%20b/%C3%A9/x%2Fy?q=%20%C3%A9&z=1&z=2"),
    _request("GET", "/path?raw=é".encode().decode("latin-1")),
    _request("GET", "/invalid/%FF%FE"),
    _request("HEAD", "/echo"),
    _request("DELETE", "/echo?x"),
    _request("GET", "/dup", "X-Dup: 1\r\nX-Dup: 2\r\nCookie: a=1\r\nCookie: b=2\r\n"),
    _request("POST", "/body", "Content-Type: text/plain\r\nContent-Length: 5\r\n", b"hello"),
    _request(
        "PUT", "/chunked", "Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    ),
    _request("POST", "/empty", "Content-Length: 0\r\n"),
    *(
        _request(method, path)
        for path in (
            "/no-content",
            "/not-modified",
            "/cookies",
            "/large",
            "/stream",
            "/stream-sized",
            "/redirect",
        )
        for method in ("GET", "HEAD")
    ),
]

MOCK = [
    _request("GET", CONSENT, API1),
    _request("HEAD", CONSENT, API1),
    _request("GET", CONSENT, API1 + 'If-None-Match: "1"\r\n'),
    _request("GET", "/api1/api/v1/consents?Count=2&Status=Active", API1),
    _request("GET", "/api1/openapi.json"),
    _request("GET", "/__admin/openapi.yaml"),
    _request("GET", "/__sandbox/api1/"),
    _request("GET", "/__admin/ui/caf%C3%A9"),
    _request("OPTIONS", "/api1/api/v1/consents", API1),
]


@pytest.mark.parametrize("request_bytes", ECHO, ids=lambda r: r.split(b"\r\n")[0].decode())
def test_the_echo_app_answers_the_same(servers: dict[str, int], request_bytes: bytes) -> None:
    wsgi = exchange(servers["echo wsgi"], request_bytes)
    assert wsgi.startswith(b"HTTP/1.1 ")
    assert exchange(servers["echo rsgi"], request_bytes) == wsgi


def test_a_body_that_raises_breaks_the_connection_off_the_same(servers: dict[str, int]) -> None:
    """The same head, then less body than its Content-Length says, then the connection closes.
    The reset can reach the client before it has read anything (the kernel then drops what it
    had received): such a try is made again."""
    expected = b"HTTP/1.1 200 OK\r\ncontent-length: 1024\r\nserver: granian\r\nconnection: close"
    for name in ("echo wsgi", "echo rsgi"):
        for _ in range(20):
            answer = exchange(servers[name], _request("GET", "/broken"))
            head, _, body = answer.partition(b"\r\n\r\n")
            if head:
                break
        assert head == expected and body in (b"", b"{")


@pytest.mark.parametrize("request_bytes", MOCK, ids=lambda r: r.split(b"\r\n")[0].decode())
def test_the_simulator_answers_the_same(servers: dict[str, int], request_bytes: bytes) -> None:
    wsgi = _untraced(exchange(servers["mock wsgi"], request_bytes))
    assert wsgi.startswith(b"HTTP/1.1 ")
    assert _untraced(exchange(servers["mock rsgi"], request_bytes)) == wsgi


def _untraced(answer: bytes) -> bytes:
    """The answer with what differs between two servers blanked: an error body's trace id
    (random) and a seeded consent's creation time (each server's start), both of one length."""
    return re.sub(rb'("(?:traceId|createdOn)": ?")[^"]+', rb"\1-", answer)


def test_a_header_value_outside_ascii_is_missing_not_empty(servers: dict[str, int]) -> None:
    """The one header difference (documented in mockserver/rsgi.py): RSGI passes no header
    whose value is not ASCII, where granian's WSGI interface passed it empty."""
    request_bytes = _request("GET", "/utf8", "X-Name: café\r\n".encode().decode("latin-1"))
    assert b'"HTTP_X_NAME": ""' in exchange(servers["echo wsgi"], request_bytes)
    assert b"HTTP_X_NAME" not in exchange(servers["echo rsgi"], request_bytes)


def test_a_body_over_the_limit_is_refused_unread(servers: dict[str, int]) -> None:
    """The app refuses a body over its limit (413) whichever interface served it; the
    adapter reads no more of it than one byte beyond the limit."""
    big = b"x" * (1024 * 1024 + 10)
    declared = _request("POST", "/api1/api/v1/consents", API1 + f"Content-Length: {len(big)}\r\n")
    chunked = _request(
        "POST",
        "/api1/api/v1/consents",
        API1 + "Transfer-Encoding: chunked\r\n",
        f"{len(big):x}\r\n".encode() + big + b"\r\n0\r\n\r\n",
    )
    for request_bytes in (declared + big, chunked):
        wsgi = _answered(servers["mock wsgi"], request_bytes)
        assert wsgi.startswith(b"HTTP/1.1 413 ")
        assert _answered(servers["mock rsgi"], request_bytes) == wsgi


def _answered(port: int, request_bytes: bytes) -> bytes:
    """The answer to a request the server refuses before reading all of it. The server closes
    with the body unread, which resets the connection; when the reset reaches the client before
    it has read the answer the kernel drops it (and the send may break off): such a try is made
    again."""
    for _ in range(20):
        answer = _untraced(exchange(port, request_bytes))
        if answer.startswith(b"HTTP/1.1 "):
            break
    return answer
