"""The `mockserver` command refuses bad input with one line and exit 2, and serves where asked."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from mockserver import cli
from mockserver.listen import ListenError, claim_port, resolve_host
from mockserver.testing import free_port, running_server

ROOT = Path(__file__).parents[1]


def h() -> dict[str, str]:
    return {"x-api-key": "sandbox-api1-key", "x-correlation-id": str(uuid.uuid4())}


def mockserver(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the command to its end; one that is still running after `timeout` (a server that
    should have been refused) is stopped with its workers, and the test fails."""
    env = {k: v for k, v in os.environ.items() if k != "MOCKSERVER_ADMIN_TOKEN"}
    command = [sys.executable, "-m", "mockserver.cli", *args]
    with subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(f"{' '.join(args)} still running after {timeout} s:\n{err}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def refusal(*args: str) -> str:
    """The one line `mockserver ARGS` prints on stderr as it exits 2 (no traceback, no server)."""
    done = mockserver(*args)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.startswith("mockserver: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    return done.stderr.rstrip("\n")


# -- --version ---------------------------------------------------------------------------------
def test_version_is_the_installed_distributions() -> None:
    done = mockserver("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"mockserver {metadata.version('consent-mockserver')}\n"


def test_version_in_a_checkout_that_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert cli.version() == f"0.1.0 (not installed: {ROOT})"


# -- flags out of range ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (("--port", "0"), "argument --port: must be from 1 to 65535, not 0"),
        (("--port", "65536"), "argument --port: must be from 1 to 65535, not 65536"),
        (("--port", "http"), "argument --port: must be a whole number, not 'http'"),
        (("--journal-size", "0"), "argument --journal-size: must be at least 1, not 0"),
        (("--threads", "0"), "argument --threads: must be at least 1, not 0"),
        (("--workers", "0"), "argument --workers: must be at least 1, not 0"),
        (("--log", "all"), "argument --log: invalid choice: 'all' (choose from"),
        (("--credentials", "closed"), "argument --credentials: invalid choice: 'closed' (choose"),
    ],
)
def test_a_flag_out_of_range_is_one_line_and_exit_2(flags: tuple[str, ...], reason: str) -> None:
    line = refusal("serve", "--provider", "api1", *flags)
    assert line.startswith(f"mockserver: {reason}")
    assert line.endswith("(see 'mockserver serve --help')")


def test_check_refuses_a_bad_count_the_same_way() -> None:
    line = refusal("check", "--provider", "api1", "--url", "http://x", "--max-examples", "0")
    assert line.startswith("mockserver: argument --max-examples: must be at least 1, not 0")


# -- --host ------------------------------------------------------------------------------------
def test_localhost_is_the_loopback() -> None:
    assert resolve_host("localhost") == "127.0.0.1"
    assert resolve_host("[::1]") == "::1"
    with running_server(["--host", "localhost", "--provider", "api1"]) as server:
        listed = httpx.get(f"{server.url('api1')}/api/v1/consents", headers=h())
        assert listed.status_code == 200 and listed.json()["meta"]["totalCount"] >= 5
        assert "on http://localhost:" in server.output()


def test_a_host_name_that_does_not_resolve_is_refused() -> None:
    line = refusal("serve", "--host", "no-such-host.invalid", "--admin-token", "t")
    assert line.startswith("mockserver: --host no-such-host.invalid: cannot resolve this name")
    line = refusal("serve", "--host", "a" * 64 + ".example", "--admin-token", "t")
    assert "cannot resolve this name (not a valid host name)" in line


def test_an_address_this_machine_does_not_have_is_refused() -> None:
    line = refusal("serve", "--host", "192.0.2.1", "--admin-token", "t")  # TEST-NET-1
    assert line == "mockserver: --host 192.0.2.1 is not an address of this machine"


# -- a port in use -----------------------------------------------------------------------------
def test_a_port_something_else_listens_on_is_refused_before_the_app_is_built() -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        started = time.perf_counter()
        line = refusal("serve", "--port", str(port))
        assert line == (
            f"mockserver: port {port} on 127.0.0.1 is already in use; stop what listens "
            "there or choose another --port"
        )
    assert time.perf_counter() - started < 10  # not after building and seeding five providers


def test_two_claims_on_one_port_cannot_both_pass() -> None:
    """Two `serve` started at the same moment: the guard, not the bind, tells them apart."""
    port = free_port()
    first = claim_port("127.0.0.1", "127.0.0.1", port)
    try:
        with pytest.raises(ListenError, match=f"port {port} on 127.0.0.1 is already in use by"):
            claim_port("127.0.0.1", "127.0.0.1", port)
    finally:
        first.release()
    claim_port("127.0.0.1", "127.0.0.1", port).release()  # released: claimed again


def test_a_restart_on_the_same_port_is_not_refused() -> None:
    """The stopped server's closed connections (TIME_WAIT) do not keep the port."""
    port = free_port()
    for _ in range(2):
        with running_server(["--provider", "api1"], port=port) as server:
            for _ in range(3):
                response = httpx.get(
                    f"{server.base_url}/__admin/health", headers={"Connection": "close"}
                )
                assert response.status_code == 200


class _Load(threading.Thread):
    """Requests in a loop, each on a new connection, each for a consent only the first server
    has: an answer from any other process would be a 404."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(headers={"Connection": "close"}, timeout=10) as client:
            while not self.stop.is_set():
                try:
                    self.statuses.append(client.get(self.url, headers=h()).status_code)
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))


def _second_serve(port: str) -> tuple[int | None, str]:
    """`serve` on a port in use: its exit status and stderr; stopped (workers and all) if it
    is still serving after 30 s."""
    with subprocess.Popen(
        [sys.executable, "-m", "mockserver.cli", "serve", "--port", port],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as second:
        try:
            return second.wait(30), (second.stderr.read() if second.stderr else "")
        except subprocess.TimeoutExpired:  # the bug: it serves too, and takes requests
            time.sleep(1)  # let it take some
            os.killpg(second.pid, signal.SIGKILL)
            return None, second.communicate()[1]


def test_a_second_serve_on_a_port_in_use_exits_2_and_the_first_keeps_every_request() -> None:
    with running_server(["--provider", "api1", "--fixtures", "none"]) as first:
        created = httpx.post(
            f"{first.url('api1')}/api/v1/consents", json={"name": "Only here"}, headers=h()
        )
        assert created.status_code == 201
        load = _Load(created.headers["location"])
        load.start()
        try:
            time.sleep(0.3)
            port = first.base_url.rsplit(":", 1)[1]
            code, err = _second_serve(port)
            time.sleep(0.3)  # load after the refusal too
        finally:
            load.stop.set()
            load.join(15)
        assert len(load.statuses) > 10
        assert set(load.statuses) == {200}  # every request answered by the first server
        assert load.errors == []
        assert code == 2, err
        assert err == (
            f"mockserver: port {port} on 127.0.0.1 is already in use by another mockserver; "
            "stop it or choose another --port\n"
        )
        assert first.process.poll() is None


# -- check -------------------------------------------------------------------------------------
def test_check_against_a_closed_port_is_one_line() -> None:
    port = free_port()
    line = refusal("check", "--provider", "api1", "--url", f"http://127.0.0.1:{port}/api1")
    assert line == (
        f"mockserver: --url http://127.0.0.1:{port}/api1 is unreachable: "
        f"127.0.0.1:{port}: Connection refused"
    )
