"""Run the simulator over HTTP and drive its control plane: the library under the pytest plugin."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = ["AdminClient", "AdminError", "RunningServer", "free_port", "running_server"]


class AdminError(Exception):
    """The control plane refused a call; `status` and `body` say why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body.get('message') if isinstance(body, dict) else body}")
        self.status = status
        self.body = body


@dataclass(slots=True)
class AdminClient:
    """Typed calls to /__admin. Bound to a tenant, clock moves and faults default to that tenant."""

    base_url: str
    tenant: str | None = None
    token: str | None = None
    timeout: float = 10.0

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        params = {
            k: str(v).lower() if isinstance(v, bool) else v
            for k, v in query.items()
            if v is not None
        }
        url = f"{self.base_url}/__admin{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload.decode("utf-8", "replace")
            raise AdminError(exc.code, parsed) from None
        return json.loads(raw) if raw else None

    # -- state ---------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/health")
        return result

    def reset(self, *, fixtures: bool = True) -> None:
        self.call("POST", "/reset", {"fixtures": fixtures})

    def seed(self, document: dict[str, Any] | str) -> int:
        body = {"path": document} if isinstance(document, str) else document
        return int(self.call("POST", "/seed", body)["created"])

    # -- clock ---------------------------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/clock", tenant=self.tenant)
        return result

    def advance_clock(self, duration: str, *, everyone: bool = False) -> dict[str, Any]:
        """Move time forward by an ISO 8601 duration, for the bound tenant (or everyone)."""
        body: dict[str, Any] = {"advance": duration}
        if self.tenant and not everyone:
            body["tenant"] = self.tenant
        result: dict[str, Any] = self.call("POST", "/clock", body)
        return result

    def set_clock(self, instant: str, *, freeze: bool = False, everyone: bool = False) -> None:
        body: dict[str, Any] = {"set": instant, "freeze": freeze}
        if self.tenant and not everyone:
            body["tenant"] = self.tenant
        self.call("POST", "/clock", body)

    # -- consents ------------------------------------------------------------------------------
    def create_consent(
        self, provider: str, status: str | int | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {"tenant": fields.pop("tenant", self.tenant), **fields}
        if status is not None:
            body["status"] = status
        result: dict[str, Any] = self.call("POST", f"/{provider}/consents", body)
        return result

    def consent(self, provider: str, consent_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/{provider}/consents/{consent_id}")
        return result

    def transition(
        self, provider: str, consent_id: str, status: str | int, **options: Any
    ) -> dict[str, Any]:
        result: dict[str, Any] = self.call(
            "POST", f"/{provider}/consents/{consent_id}/status", {"status": status, **options}
        )
        return result

    def approve(self, provider: str, consent_id: str, **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call(
            "POST", f"/{provider}/consents/{consent_id}/approve", options
        )
        return result

    def reject(self, provider: str, consent_id: str, **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call(
            "POST", f"/{provider}/consents/{consent_id}/reject", options
        )
        return result

    # -- credentials (serve --credentials registered) -------------------------------------------
    def register_credential(self, provider: str, tenant: str, **fields: Any) -> dict[str, Any]:
        """Register a credential (the fixtures' `credentials` fields); answers it, masked."""
        result: dict[str, Any] = self.call(
            "POST", f"/{provider}/credentials", {"tenant": tenant, **fields}
        )
        return result

    def credentials(self, provider: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", f"/{provider}/credentials")["credentials"]
        return result

    def revoke_credential(self, provider: str, key: str) -> None:
        """Revoke by id or tenant: the provider then answers its own 401."""
        self.call("DELETE", f"/{provider}/credentials/{key}")

    # -- faults --------------------------------------------------------------------------------
    def fault(
        self,
        provider: str | None = None,
        operation: str | None = None,
        *,
        everyone: bool = False,
        **spec: Any,
    ) -> int:
        """Inject a fault (status, body, delay_ms, drop, times, path, method); returns its id."""
        body = {"provider": provider, "operation": operation, **spec}
        if self.tenant and not everyone:
            body.setdefault("tenant", self.tenant)
        return int(
            self.call("POST", "/faults", {k: v for k, v in body.items() if v is not None})["id"]
        )

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "/faults")["faults"]
        return result

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    # -- webhooks ------------------------------------------------------------------------------
    def register_webhook(
        self, provider: str, url: str, secret: str, **extra: Any
    ) -> dict[str, Any]:
        """Register a hook for the bound tenant (or `tenant=`); answers it, with its `id`.
        `extra`: backupUrl, events (the event types it wants)."""
        body = {"provider": provider, "tenant": extra.pop("tenant", self.tenant), "url": url}
        result: dict[str, Any] = self.call("POST", "/webhooks", {**body, "secret": secret, **extra})
        return result

    def webhooks(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "/webhooks", tenant=self.tenant)["webhooks"]
        return result

    def delete_webhook(self, hook_id: str) -> None:
        self.call("DELETE", f"/webhooks/{hook_id}")

    def rotate_webhook_secret(
        self, hook_id: str, secret: str, grace_seconds: float | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"secret": secret}
        if grace_seconds is not None:
            body["graceSeconds"] = grace_seconds
        result: dict[str, Any] = self.call("POST", f"/webhooks/{hook_id}/secret", body)
        return result

    def send_test_webhook(self, hook_id: str, data: Any = None) -> str:
        """Send a test event through the outbox, signer and sender; answers its event id."""
        return str(self.call("POST", f"/webhooks/{hook_id}/test", {"data": data})["event"])

    def webhook_deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """Every delivery attempt logged (of the bound tenant unless `tenant=` says else)."""
        filters.setdefault("tenant", self.tenant)
        result: list[dict[str, Any]] = self.call("GET", "/webhooks/deliveries", **filters)[
            "deliveries"
        ]
        return result

    def clear_webhook_deliveries(self) -> None:
        self.call("DELETE", "/webhooks/deliveries")

    def webhook_fault(self, action: str, *, everyone: bool = False, **spec: Any) -> int:
        """Drop, delay, duplicate or reorder the next matching event(s); answers the fault id."""
        body = {"action": action, **spec}
        if self.tenant and not everyone:
            body.setdefault("tenant", self.tenant)
        return int(self.call("POST", "/webhooks/faults", body)["id"])

    def clear_webhook_faults(self) -> None:
        self.call("DELETE", "/webhooks/faults")

    def webhook_settings(self, **settings: Any) -> dict[str, Any]:
        """Read, or change (attempts, backoff, factor, maxBackoff, timeout), the retry policy."""
        method, body = ("POST", settings) if settings else ("GET", None)
        result: dict[str, Any] = self.call(method, "/webhooks/settings", body)
        return result

    # -- journal -------------------------------------------------------------------------------
    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "/requests", **filters)["requests"]
        return result

    def unmatched(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "/requests/unmatched")["requests"]
        return result

    def clear_requests(self) -> None:
        self.call("DELETE", "/requests")

    def last_request_id(self) -> int:
        entries = self.requests(limit=1)
        return int(entries[-1]["id"]) if entries else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(slots=True)
class RunningServer:
    """A `mockserver serve` subprocess on a free loopback port."""

    base_url: str
    process: subprocess.Popen[str]
    log: IO[str]
    token: str | None = None
    admin: AdminClient = field(init=False)

    def __post_init__(self) -> None:
        self.admin = AdminClient(self.base_url, token=self.token)

    def url(self, provider: str) -> str:
        return f"{self.base_url}/{provider}"

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log.close()


def start_server(
    args: Sequence[str] = (),
    *,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
    port: int | None = None,
) -> RunningServer:
    """Start `mockserver serve` (on `port`, else a free one) and wait until /__admin/health
    answers."""
    port = port or free_port()
    log = tempfile.TemporaryFile("w+")
    command = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), *args]
    environment = {**os.environ, **(env or {})}
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        start_new_session=True,
    )
    token = (env or {}).get("MOCKSERVER_ADMIN_TOKEN")
    if "--admin-token" in args:
        token = args[list(args).index("--admin-token") + 1]
    server = RunningServer(f"http://127.0.0.1:{port}", process, log, token)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = server.output()
            server.stop()
            raise RuntimeError(f"mockserver serve exited with {process.returncode}:\n{text}")
        try:
            server.admin.health()
            return server
        except (OSError, AdminError):
            time.sleep(0.05)
    text = server.output()
    server.stop()
    raise RuntimeError(f"mockserver serve did not answer within {timeout} s:\n{text}")


@contextmanager
def running_server(
    args: Sequence[str] = (), *, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[RunningServer]:
    server = start_server(args, env=env, port=port)
    try:
        yield server
    finally:
        server.stop()
