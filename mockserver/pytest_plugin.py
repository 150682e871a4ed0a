"""pytest plugin: a session-wide simulator over HTTP, a fresh tenant per test, contract checks.

Fixtures:
- `mockserver_server` (session): a running `mockserver serve` on a free loopback port.
- `mockserver` (function): a `Sandbox` with its own tenant, base URLs per provider and an admin
  client bound to that tenant (clock moves and faults touch this test alone).
- `webhook_receiver` (function): an HTTP receiver on loopback (`WebhookReceiver`): register
  its `url`, then `wait_for(count)`; `fail(times)` makes it answer 500, `slow(seconds)` late.

Contract checking: with `--mockserver-contract`, or on tests marked
`@pytest.mark.mockserver_contract`, a test fails when any request it sent through the simulator
broke the provider's contract; the failure names each violation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from .testing import AdminClient, RunningServer, start_server
from .webhooks.receiver import WebhookReceiver

__all__ = ["ContractBroken", "Sandbox", "WebhookReceiver"]

_SANDBOX_KEY = pytest.StashKey["Sandbox"]()


class ContractBroken(AssertionError):
    """The code under test sent requests that violate a provider's contract."""


@dataclass(slots=True)
class Sandbox:
    """One test's view of the shared simulator: its tenant, its URLs, its admin client."""

    server: RunningServer
    tenant: str
    admin: AdminClient
    first_request: int
    contract: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def url(self, provider: str) -> str:
        """The provider's base URL: the one to give the client under test."""
        return self.server.url(provider)

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries of the requests sent since this test began."""
        return self.admin.requests(after=self.first_request, **filters)

    def violations(self) -> list[dict[str, Any]]:
        """Requests since this test began that broke the contract."""
        return self.admin.requests(after=self.first_request, valid=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver")
    group.addoption(
        "--mockserver-contract",
        action="store_true",
        help="fail tests whose requests to the simulator violate the contract",
    )
    group.addoption(
        "--mockserver-arg",
        action="append",
        default=[],
        dest="mockserver_args",
        help="extra argument for `mockserver serve` (repeatable)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mockserver_contract: fail the test when a request it sent violates the contract",
    )


@pytest.fixture(scope="session")
def mockserver_server(pytestconfig: pytest.Config) -> Iterator[RunningServer]:
    server = start_server(pytestconfig.getoption("mockserver_args"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mockserver(mockserver_server: RunningServer, request: pytest.FixtureRequest) -> Sandbox:
    tenant = f"test-{uuid.uuid4().hex[:12]}"
    admin = AdminClient(mockserver_server.base_url, tenant=tenant, token=mockserver_server.token)
    contract = bool(request.config.getoption("mockserver_contract")) or (
        request.node.get_closest_marker("mockserver_contract") is not None
    )
    sandbox = Sandbox(mockserver_server, tenant, admin, admin.last_request_id(), contract)
    request.node.stash[_SANDBOX_KEY] = sandbox
    return sandbox


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()


def describe(entry: dict[str, Any]) -> str:
    problems = "; ".join(
        f"{v['in']} {v['name']}: {v['message']}".replace("  ", " ") for v in entry["violations"]
    )
    return f"{entry['method']} {entry['path']} → {entry['status']}: {problems}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    sandbox = item.stash.get(_SANDBOX_KEY, None)
    if sandbox is not None and sandbox.contract:
        broken = sandbox.violations()
        if broken:
            raise ContractBroken(
                f"{len(broken)} request(s) broke the contract:\n  "
                + "\n  ".join(describe(e) for e in broken)
            )
    return result
