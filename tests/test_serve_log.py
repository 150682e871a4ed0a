"""`serve --log requests`: a line per request on stdout, a person can read, coloured on a TTY."""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from werkzeug.test import EnvironBuilder

from mockserver.engine import FastPath
from mockserver.requestlog import RequestLog
from mockserver.testing import AdminClient, AdminError, free_port
from mockserver.wsgi import build_app

ROOT = Path(__file__).parents[1]
# time, status, duration, method, path?query, then the contract mark or a problem
LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (\d{3}|---) +\d+\.\d ms (\S+) +(\S+)(?:  (.*))?$")
ESC = "\x1b"


def h() -> dict[str, str]:
    return {"x-api-key": "sandbox-api1-key", "x-correlation-id": str(uuid.uuid4())}


class Served:
    """A `serve` subprocess whose stdout (the log) is read apart from its stderr."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, read: Callable[[], str]):
        self.process = process
        self.base_url = f"http://127.0.0.1:{port}"
        self.read = read
        self.text = ""

    def lines(self, until: Callable[[list[str]], bool], timeout: float = 15) -> list[str]:
        """The log's lines (colours kept), once `until` holds for them."""
        deadline = time.monotonic() + timeout
        while True:
            self.text += self.read()
            lines = [line.rstrip("\r") for line in self.text.split("\n") if line.strip()]
            if until(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


@contextmanager
def serving(
    *flags: str, stdout: int | IO[bytes], read: Callable[[], str], env: dict[str, str] | None = None
) -> Iterator[Served]:
    port = free_port()
    command = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), *flags]
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",)}
    with subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={**environment, **(env or {})},
        start_new_session=True,
    ) as process:
        served = Served(process, port, read)
        try:
            _wait_healthy(served)
            yield served
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            stderr = process.stderr.read().decode() if process.stderr else ""
            # The log goes to stdout alone: granian's and our own messages stay on stderr.
            assert not any(LINE.match(line) for line in stderr.splitlines()), stderr


def _wait_healthy(served: Served) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert served.process.poll() is None, "serve exited"
        try:
            AdminClient(served.base_url).health()
            return
        except (OSError, AdminError):
            time.sleep(0.05)
    raise AssertionError("serve did not answer")


@contextmanager
def to_file(*flags: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    with _tempfile() as (log, read), serving(*flags, stdout=log, read=read, env=env) as served:
        yield served


@contextmanager
def _tempfile() -> Iterator[tuple[IO[bytes], Callable[[], str]]]:
    import tempfile

    with tempfile.TemporaryFile() as log:
        position = 0

        def read() -> str:
            nonlocal position
            log.seek(position)
            data = log.read()
            position += len(data)
            return data.decode("utf-8", "replace")

        yield log, read


@contextmanager
def to_terminal(*flags: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """stdout a pseudo-terminal, as when a person runs the command."""
    master, slave = os.openpty()

    def read() -> str:
        chunks = []
        while select.select([master], [], [], 0)[0]:
            chunks.append(os.read(master, 65536))
        return b"".join(chunks).decode("utf-8", "replace")

    try:
        with serving(*flags, stdout=slave, read=read, env=env) as served:
            yield served
    finally:
        os.close(slave)
        os.close(master)


def _send_valid_and_invalid(served: Served) -> tuple[str, str]:
    url = f"{served.base_url}/api1/api/v1/consents"
    assert httpx.get(url, headers=h()).status_code == 200
    assert httpx.get(f"{url}?Status=NOPE", headers=h()).status_code == 400
    lines = served.lines(lambda lines: len(_for(lines, "/api1/")) >= 2)
    valid, invalid = _for(lines, "/api1/")
    return valid, invalid


def fields(line: str) -> tuple[str | None, ...]:
    """status, method, target and mark of a log line (which must be one)."""
    match = LINE.match(line)
    assert match is not None, line
    return match.groups()


def _for(lines: list[str], prefix: str) -> list[str]:
    return [line for line in lines if f" {prefix}" in re.sub(f"{ESC}\\[[0-9;]*m", "", line)]


def test_a_line_per_request_with_the_contract_verdict_and_no_colour_in_a_file() -> None:
    with to_file("--provider", "api1", "--log", "requests") as served:
        valid, invalid = _send_valid_and_invalid(served)
        assert fields(valid) == ("200", "GET", "/api1/api/v1/consents", None)
        status, method, target, mark = fields(invalid)
        assert (status, method, target) == ("400", "GET", "/api1/api/v1/consents?Status=NOPE")
        assert re.match(r"[✗X] contract: query Status: 'NOPE' does not match '\^\(", mark or "")

        # A request the engine does not journal (the admin API) is logged too, without a mark.
        AdminClient(served.base_url).fault("api1", "listConsents", drop=True, times=1)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{served.base_url}/api1/api/v1/consents", headers=h())
        # A client's control characters are shown escaped, never sent to the terminal.
        assert httpx.get(f"{served.base_url}/api1/x%1b%5b2J", headers=h()).status_code == 404
        lines = served.lines(lambda lines: len(_for(lines, "/api1/")) >= 4)
        admin = _for(lines, "/__admin/faults")
        assert len(admin) == 1 and fields(admin[0]) == ("201", "POST", "/__admin/faults", None)
        dropped, escaped = _for(lines, "/api1/")[2:]
        assert dropped.endswith("/api1/api/v1/consents  connection dropped")
        assert " /api1/x\\x1b[2J  " in escaped and "contract: No operation matches" in escaped
    assert ESC not in served.text


def test_colours_when_forced_and_the_line_is_the_same_underneath() -> None:
    with to_file("--provider", "api1", "--log", "requests", "--color", "always") as served:
        valid, invalid = _send_valid_and_invalid(served)
    assert f"{ESC}[32m200{ESC}[0m" in valid and f"{ESC}[33m400{ESC}[0m" in invalid
    assert f"{ESC}[1;31m" in invalid and f"{ESC}[1;31m" not in valid
    plain = re.sub(f"{ESC}\\[[0-9;]*m", "", invalid)
    assert fields(plain)[0] == "400" and "contract: query Status" in plain


def test_a_terminal_gets_colours_unless_no_color_is_set() -> None:
    with to_terminal("--provider", "api1", "--log", "requests") as served:
        valid, invalid = _send_valid_and_invalid(served)
    assert f"{ESC}[32m200" in valid and f"{ESC}[1;31m" in invalid
    with to_terminal("--provider", "api1", "--log", "requests", env={"NO_COLOR": "1"}) as served:
        valid, invalid = _send_valid_and_invalid(served)
    assert ESC not in valid + invalid and "contract: query Status" in invalid


def test_off_by_default() -> None:
    with to_file("--provider", "api1") as served:
        assert httpx.get(f"{served.base_url}/api1/api/v1/consents", headers=h()).status_code == 200
        time.sleep(0.3)
        assert served.lines(lambda lines: False, timeout=0) == []


@pytest.mark.slow
def test_every_worker_logs_its_own_requests(tmp_path: Path) -> None:
    flags = ["--provider", "api1", "--workers", "2", "--store", f"sqlite:{tmp_path / 's.sqlite'}"]
    ids = [str(uuid.uuid4()) for _ in range(8)]
    with to_file(*flags, "--log", "requests") as served:
        for consent_id in ids:  # a new connection each: either worker may take it
            response = httpx.get(
                f"{served.base_url}/api1/api/v1/consents/{consent_id}",
                headers={**h(), "Connection": "close"},
            )
            assert response.status_code == 404
        lines = served.lines(lambda lines: len(_for(lines, "/api1/")) >= len(ids))
    logged = _for(lines, "/api1/")
    assert sorted(line.rsplit("/", 1)[1] for line in logged) == sorted(ids)  # each once


# -- in process: what is installed, and what is not ----------------------------------------------
def _settings(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> None:
    settings = {"providers": ["api1"], "fixtures": None, **extra}
    monkeypatch.setenv("MOCKSERVER_SERVE_SETTINGS", json.dumps(settings))


def _layers(wsgi_app: object) -> list[object]:
    """The WSGI middleware chain, outermost first (each layer names the next `app` or
    `wsgi_app`)."""
    layers = [wsgi_app]
    while (
        inner := getattr(layers[-1], "app", None) or getattr(layers[-1], "wsgi_app", None)
    ) is not None and not isinstance(layers[-1], FastPath):
        layers.append(inner)
    return layers


def test_with_the_log_off_nothing_of_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    _settings(monkeypatch)
    app = build_app()
    layers = _layers(app.wsgi_app)
    assert not any(isinstance(layer, RequestLog) for layer in layers)
    assert isinstance(layers[-1], FastPath)  # the engine's fast path, innermost
    assert "record" not in vars(app.extensions["mockserver"].journal)  # no observer


def test_the_log_wraps_the_fast_path_and_reports_every_violation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _settings(monkeypatch, log="requests", color=False)
    app = build_app()
    assert isinstance(app.wsgi_app, RequestLog)  # outermost: it times everything inside
    assert isinstance(_layers(app.wsgi_app)[-1], FastPath)
    stream = io.StringIO()
    log = RequestLog(app.wsgi_app.app, app.extensions["mockserver"].journal, stream, color=False)
    headers = [("x-api-key", "k"), ("x-correlation-id", "not-a-uuid")]
    environ = EnvironBuilder(
        path="/api1/api/v1/consents", query_string="Status=NOPE", headers=headers
    ).get_environ()
    body = log(environ, lambda status, headers, exc_info=None: None)
    assert stream.getvalue() == ""  # written once the server has sent the answer
    b"".join(body)
    body.close()  # type: ignore[attr-defined]
    (line,) = stream.getvalue().splitlines()
    assert fields(line)[0] == "400" and (fields(line)[3] or "").endswith("(+1 more)"), line
