"""`serve --log requests`: one line per request for a person at the terminal, with its verdict.

    14:03:07.412 200     2.1 ms GET     /provider/items?status=open
    14:03:07.530 400     1.8 ms GET     /provider/items?status=nope  ✗ contract: query status: ...

Installed as WSGI middleware only when asked: with the log off nothing of this module runs. The
verdict is the journal entry the engine records for the request (`Journal.observe`); requests
that make none (the admin API, sandbox pages) are logged without one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from .clock import SystemClock
from .deferral import DEFERRAL, Deferral
from .journal import Journal

__all__ = ["RequestLog", "wants_color"]

_RESET = "\033[0m"
_DIM = "\033[2m"
_ALARM = "\033[1;31m"
_STATUS_COLORS = {2: "\033[32m", 3: "\033[36m", 4: "\033[33m", 5: "\033[31m"}
_AT = "requestlog.at"  # Deferral.done's key for the instant the request first came in
_MAX_TARGET = 2000  # a line stays one write, whatever the client sent as its path


def wants_color(stream: TextIO, choice: str = "auto") -> bool:
    """`--color always|never|auto`: auto colours a terminal, unless NO_COLOR is set
    (https://no-color.org: any non-empty value)."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


class RequestLog:
    """WSGI middleware writing a line per request once its answer has been sent (or broken off):
    time, status, duration, method, path with query, and a mark when the request broke the
    contract. Each worker process logs its own requests to the stream it inherited."""

    def __init__(self, app: Any, journal: Journal, stream: TextIO, *, color: bool) -> None:
        self.app = app
        self.stream = stream
        self.color = color
        self.mark = "✗" if "utf" in (getattr(stream, "encoding", "") or "").lower() else "X"
        self._clock = SystemClock()
        self._local = threading.local()  # the entry recorded by the request this thread serves
        self._lock = threading.Lock()  # one line at a time from this process's threads
        journal.observe(self._observe)

    def _observe(self, entry: dict[str, Any]) -> None:
        self._local.entry = entry

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        deferral: Deferral | None = environ.get(DEFERRAL)
        started = time.perf_counter() if deferral is None else deferral.started
        at = self._clock.now()
        if deferral is not None:  # called again after a delay fault: when it first came in
            at = deferral.done.setdefault(_AT, at)
        self._local.entry = None
        seen: list[str] = []

        def recording(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen.append(status)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        def finish(status: str, entry: dict[str, Any] | None, problem: str | None) -> None:
            duration_ms = (time.perf_counter() - started) * 1000
            self._write(self.format(environ, at, duration_ms, status, entry), problem)

        try:
            body: Iterable[bytes] = self.app(environ, recording)
        except BaseException:
            finish("---", None, "failed")
            raise
        entry: dict[str, Any] | None = self._local.entry
        self._local.entry = None
        if deferral is not None and deferral.pending:  # void: logged when called again
            return body

        def sent(problem: str | None) -> None:
            finish(seen[-1].split(" ", 1)[0] if seen else "---", entry, problem)

        return _Logged(body, sent)

    def _write(self, line: str, problem: str | None) -> None:
        if problem:
            line += f"  {self._paint(_ALARM, problem)}"
        try:
            with self._lock:
                self.stream.write(line + "\n")
                self.stream.flush()
        except (OSError, ValueError):  # a closed terminal or pipe must not fail the request
            pass

    def format(
        self,
        environ: dict[str, Any],
        at: Any,
        duration_ms: float,
        status: str,
        entry: dict[str, Any] | None,
    ) -> str:
        clock = at.astimezone().strftime("%H:%M:%S.%f")[:-3]
        method = _printable(str(environ.get("REQUEST_METHOD", "")))
        shown = _STATUS_COLORS.get(int(status[0]) if status[:1].isdigit() else 5, _ALARM)
        line = (
            f"{self._paint(_DIM, clock)} {self._paint(shown, status)} "
            f"{duration_ms:7.1f} ms {method:<7} {_target(environ, entry)}"
        )
        if entry is not None and entry.get("valid") is False:
            line += f"  {self._paint(_ALARM, f'{self.mark} contract: {_verdict(entry)}')}"
        return line

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text


class _Logged:
    """The answer's body as the server sends it; the line is written when the server closes it
    (WSGI's `close()`, called after the last byte, or after a body that broke off)."""

    def __init__(self, body: Iterable[bytes], finish: Callable[[str | None], None]) -> None:
        self.body = body
        self.finish = finish
        self.problem: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.body
        except BaseException:
            self.problem = "connection dropped"
            raise

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.finish(self.problem)


def _target(environ: dict[str, Any], entry: dict[str, Any] | None) -> str:
    """Path and query; a journalled request's as the journal keeps them (secrets masked
    there are masked here too)."""
    if entry is not None:
        path, query = str(entry.get("path", "")), str(entry.get("query") or "")
    else:
        # WSGI strings carry the raw bytes as latin-1: show UTF-8 as the client meant it.
        raw = str(environ.get("PATH_INFO", "")).encode("latin-1", "replace")
        path, query = raw.decode("utf-8", "backslashreplace"), str(environ.get("QUERY_STRING", ""))
    target = _printable(f"{path}?{query}" if query else path)
    return target if len(target) <= _MAX_TARGET else target[:_MAX_TARGET] + "..."


def _printable(text: str) -> str:
    """No control characters: a client's path must not move the cursor or recolour a terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _verdict(entry: dict[str, Any]) -> str:
    violations = entry.get("violations") or []
    if not violations:
        return "invalid request"
    first = violations[0]
    # An unmatched route's message names the route already.
    parts = () if first.get("in") == "route" else (first.get("in"), first.get("name"))
    where = " ".join(str(p) for p in parts if p)
    text = _printable(f"{where}: {first.get('message', '')}" if where else first.get("message", ""))
    text = text if len(text) <= 160 else text[:160] + "..."
    more = len(violations) - 1
    return f"{text} (+{more} more)" if more else text
