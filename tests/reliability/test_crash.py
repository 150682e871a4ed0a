"""Crashes and idle clients over real HTTP: SIGKILL of the server or of one worker mid-load on
SQLite loses no acknowledged write, a dead worker is replaced, idle sockets starve nobody."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mockserver.testing import RunningServer, free_port, start_server

pytestmark = pytest.mark.slow

KEY = "crash-tenant"


def _headers(**extra: str) -> dict[str, str]:
    return {"x-api-key": KEY, "x-correlation-id": str(uuid.uuid4()), **extra}


@dataclass
class Writer:
    """One client thread: creates consents and renames them, noting what was acknowledged."""

    base_url: str
    acked: dict[str, str] = field(default_factory=dict)  # id -> last acknowledged ETag
    in_flight: set[str] = field(default_factory=set)  # ids with a write sent, not answered
    stop: threading.Event = field(default_factory=threading.Event)
    errors: int = 0

    def connection(self) -> http.client.HTTPConnection:
        netloc = urlsplit(self.base_url).netloc
        host, _, port = netloc.partition(":")
        return http.client.HTTPConnection(host, int(port), timeout=10)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.step()
            except (OSError, http.client.HTTPException):
                self.errors += 1
                time.sleep(0.01)

    def step(self) -> None:
        conn = self.connection()
        try:
            conn.request(
                "POST",
                "/api1/api/v1/consents",
                json.dumps({"name": "Crash AB"}),
                {**_headers(), "Content-Type": "application/json"},
            )
            made = conn.getresponse()
            body = made.read()
            if made.status != 201:
                return
            consent_id = json.loads(body)["id"]
            self.acked[consent_id] = str(made.getheader("ETag"))
            for n in range(3):
                self.in_flight.add(consent_id)
                conn.request(
                    "PATCH",
                    f"/api1/api/v1/consents/{consent_id}",
                    json.dumps({"name": f"Renamed {n}"}),
                    {
                        **_headers(**{"If-Match": self.acked[consent_id]}),
                        "Content-Type": "application/json",
                    },
                )
                patched = conn.getresponse()
                patched.read()
                if patched.status == 204:
                    self.acked[consent_id] = str(patched.getheader("ETag"))
                self.in_flight.discard(consent_id)
        finally:
            conn.close()


def _load(server: RunningServer, seconds: float, during: float | None = None) -> list[Writer]:
    writers = [Writer(server.base_url) for _ in range(4)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in writers]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    return writers


def _stop(writers: list[Writer]) -> None:
    for writer in writers:
        writer.stop.set()
    time.sleep(0.2)


def _check_every_acknowledged_write(server: RunningServer, writers: list[Writer]) -> int:
    checked = 0
    conn = Writer(server.base_url).connection()
    for writer in writers:
        for consent_id, etag in writer.acked.items():
            conn.request("GET", f"/api1/api/v1/consents/{consent_id}", headers=_headers())
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200, consent_id
            version = int(etag.strip('"').split("-")[0])
            now = int(str(answer.getheader("ETag")).strip('"').split("-")[0])
            if consent_id in writer.in_flight:  # the unanswered write may have landed
                assert now in (version, version + 1), (consent_id, etag, answer.getheader("ETag"))
            else:
                assert answer.getheader("ETag") == etag, consent_id
            checked += 1
    conn.close()
    return checked


def _workers(server: RunningServer) -> list[int]:
    parent = server.process.pid
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent:
                found.append(int(entry))
    return found


def test_sigkill_of_the_whole_server_loses_no_acknowledged_write(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'crash.sqlite'}"
    port = free_port()
    server = start_server(["--workers", "2", "--store", store, "--fixtures", "none"], port=port)
    writers = _load(server, 2.0)
    os.killpg(server.process.pid, signal.SIGKILL)  # the parent and both workers, mid-write
    server.process.wait(10)
    _stop(writers)
    server.log.close()
    assert sum(len(w.acked) for w in writers) > 20
    again = start_server(["--workers", "2", "--store", store, "--fixtures", "none"])
    try:
        assert _check_every_acknowledged_write(again, writers) > 20
    finally:
        again.stop()


def test_a_dead_worker_is_replaced_and_nothing_acknowledged_is_lost(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'worker.sqlite'}"
    server = start_server(["--workers", "2", "--store", store, "--fixtures", "none"])
    try:
        deadline = time.monotonic() + 10
        while len(_workers(server)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim, survivor = _workers(server)[:2]
        writers = _load(server, 1.0)
        os.kill(victim, signal.SIGKILL)
        time.sleep(2.0)  # load goes on while the worker is replaced
        _stop(writers)
        assert server.process.poll() is None, server.output()
        workers = _workers(server)
        assert survivor in workers and victim not in workers and len(workers) == 2
        assert _check_every_acknowledged_write(server, writers) > 10
        assert server.admin.health()["status"] == "ok"
    finally:
        server.stop()


def test_a_thousand_idle_connections_do_not_stall_a_new_request() -> None:
    server = start_server(["--fixtures", "none"])
    idle: list[socket.socket] = []
    try:
        port = int(urlsplit(server.base_url).port or 0)
        for _ in range(1100):  # never send a byte: the worst kind of idle client
            idle.append(socket.create_connection(("127.0.0.1", port)))
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/__admin/health")
        assert conn.getresponse().status == 200
        assert time.monotonic() - started < 5
        conn.close()
    finally:
        for sock in idle:
            sock.close()
        server.stop()


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() -> None:
    server = start_server(["--fixtures", "none", "--idle-timeout", "1"])
    try:
        port = int(urlsplit(server.base_url).port or 0)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/__admin/health")
        conn.getresponse().read()
        assert conn.sock is not None
        started = time.monotonic()
        assert conn.sock.recv(10) == b""  # the server closed it
        assert 0.5 < time.monotonic() - started < 5
        conn.close()
    finally:
        server.stop()
