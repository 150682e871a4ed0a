"""A webhook receiver on loopback for tests: collects what arrives, can fail on purpose."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Received", "WebhookReceiver"]


@dataclass(slots=True, frozen=True)
class Received:
    """One request that reached the receiver, and the status it was answered with."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A header by name, case-insensitively."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


class WebhookReceiver:
    """`url` is where to register; `received` lists every request in arrival order.
    `fail(times, status)` answers the next `times` requests with `status`; `slow(seconds)`
    makes every answer wait that long."""

    def __init__(self, host: str = "127.0.0.1", path: str = "/hook") -> None:
        self.path = path
        self.received: list[Received] = []
        self._failures: list[int] = []
        self._sleep = 0.0
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver._sleep:
                    time.sleep(receiver._sleep)
                with receiver._changed:
                    status = receiver._failures.pop(0) if receiver._failures else 200
                    receiver.received.append(
                        Received("POST", self.path, dict(self.headers.items()), body, status)
                    )
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads `received`, not a log on stderr."""

        return Handler

    def fail(self, times: int = 1, status: int = 500) -> None:
        with self._changed:
            self._failures.extend([status] * times)

    def slow(self, seconds: float) -> None:
        self._sleep = seconds

    def clear(self) -> None:
        with self._changed:
            self.received.clear()
            self._failures.clear()
        self._sleep = 0.0

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `count` requests have arrived; all of them so far. Fails the
        test (AssertionError) with what did arrive when they do not come in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} webhook request(s) within {timeout} s, got "
                        f"{len(self.received)}: {[r.body[:200] for r in self.received]}"
                    )
                self._changed.wait(left)
            return list(self.received)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
