"""Contract suite options: `--target wsgi|http|live` and `--deep` (or MOCKSERVER_DEEP=1).

- `wsgi` (default): the in-process Flask app, `create_app(providers, strict=True,
  credentials="registered")`, seeded with the fixtures; a response that breaks the spec raises
  `ContractViolation`.
- `http`: `mockserver serve --strict --credentials registered` on a free loopback port.
- `live`: each provider's real base URL and credentials from the environment (`profiles.py`);
  a provider whose variables are unset is skipped, naming them. Read-only operations only,
  unless MOCKSERVER_LIVE_WRITES=1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver import create_app
from mockserver.app import default_fixture_dir
from mockserver.providers import KNOWN, load_provider
from mockserver.testing import RunningServer, start_server

from . import checks, hooks
from .profiles import LIVE_WRITES_ENV, PROFILES
from .suite import DEEP_ENV, TARGETS, Budget, Target, set_current
from .wire import Wire

# Providers whose simulator is still being written: their contract tests stay in place, skipped.
PENDING: dict[str, str] = {}

_SERVER: list[RunningServer] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "consent-mockserver contract suite")
    group.addoption(
        "--target",
        choices=TARGETS,
        default="wsgi",
        help="wsgi (in-process, default), http (mockserver serve) or live (real providers)",
    )
    group.addoption(
        "--deep",
        action="store_true",
        default=os.environ.get(DEEP_ENV) == "1",
        help=f"many more generated requests (>= 1000 per provider); also {DEEP_ENV}=1",
    )


def _unready(name: str) -> str | None:
    if name in PENDING:
        return PENDING[name]
    if name not in KNOWN:
        return f"{name}: no simulator module yet (mockserver/providers/{name}.py)"
    try:
        load_provider(name)
    except Exception as exc:  # an unfinished module: say why, do not break the suite
        return f"{name}: the simulator module does not load: {exc}"
    return None


def _build_target(config: pytest.Config) -> Target:
    kind = str(config.getoption("target"))
    target = Target(kind, Budget.load(deep=bool(config.getoption("deep"))))
    for name in PROFILES:
        reason = _unready(name) if kind != "live" else None
        if reason:
            target.skipped[name] = reason
    ready = [name for name in PROFILES if name not in target.skipped]
    if kind == "wsgi" and ready:
        # `registered`: an unknown credential gets the provider's 401, so Schemathesis's
        # ignored_auth runs (the suite registers its own identities: hooks.register).
        target.app = create_app(
            ready, strict=True, fixtures=default_fixture_dir(), credentials="registered"
        )
        # A response that breaks the spec raises ContractViolation in strict mode: let it reach
        # the test with its message (Flask would otherwise turn it into a bare 500).
        target.app.testing = True
    elif kind == "http" and ready:
        server = start_server(
            [*(f"--provider={p}" for p in ready), "--strict", "--credentials=registered"]
        )
        _SERVER.append(server)
        target.base_urls = {p: server.url(p) for p in ready}
    elif kind == "live":
        target.writes = os.environ.get(LIVE_WRITES_ENV) == "1"
        for name, profile in PROFILES.items():
            missing = profile.missing_live_env()
            if missing:
                target.skipped[name] = (
                    f"{name}: live target needs {', '.join(missing)} (see docs/contract-tests.md)"
                )
            else:
                target.base_urls[name] = os.environ[profile.base_url_env].rstrip("/")
    return target


def _seed_canaries(target: Target) -> None:
    """Consents of a tenant the suite never signs in as: no answer may ever show them."""
    origin = "http://localhost" if target.kind == "wsgi" else _SERVER[0].base_url
    wire = Wire(origin, target.app)
    for name in PROFILES:
        if name in target.skipped:
            continue
        for _ in range(2):
            answer = wire.send(
                "POST", f"/__admin/{name}/consents", json_body={"tenant": f"canary-{name}"}
            )
            if answer.status != 201:
                raise RuntimeError(
                    f"seeding a canary {name} consent: {answer.status} {answer.text}"
                )
            checks.CANARIES.add((answer.header("Location") or "").rsplit("/", 1)[-1])
            body: dict[str, Any] = answer.json()
            for key, value in body.items():
                if isinstance(value, str) and any(w in key.lower() for w in ("token", "secret")):
                    checks.CANARIES.add(value)
    checks.CANARIES.discard("")


def pytest_configure(config: pytest.Config) -> None:
    target = _build_target(config)
    hooks.use_credentials("live" if target.kind == "live" else "sandbox")
    if target.kind != "live":
        _seed_canaries(target)
        for name in PROFILES:  # now, not in the middle of generating data
            if name not in target.skipped:
                hooks.session_for(PROFILES[name], target.base_url(name), target.app)
    set_current(target)


def pytest_unconfigure(config: pytest.Config) -> None:
    while _SERVER:
        _SERVER.pop().stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    from .suite import current

    target = current()
    budget = target.budget
    lines = [
        f"contract target: {target.kind}; seed {budget.seed}; {budget.max_examples} examples "
        f"per operation and phase; stateful {budget.stateful_max_examples} x "
        f"{budget.stateful_max_steps} steps"
    ]
    lines += [f"contract skip: {reason}" for reason in target.skipped.values()]
    return lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from .suite import current

    target = current()
    if target.requests:
        counts = ", ".join(f"{p} {n}" for p, n in sorted(target.requests.items()))
        terminalreporter.write_line(f"contract requests generated: {counts}")
    for provider in sorted({p for p, _, _ in target.journeys}):
        steps = sorted(
            (op, status, n) for (p, op, status), n in target.journeys.items() if p == provider
        )
        text = ", ".join(f"{op} {status}x{n}" for op, status, n in steps)
        terminalreporter.write_line(f"stateful {provider}: {text}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Deep mode: every provider the run tested got at least `deep-min-requests` requests."""
    from .suite import current

    target = current()
    floor = target.budget.min_requests
    short = {p: n for p, n in sorted(target.requests.items()) if n < floor}
    if floor and short:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"deep mode: fewer than {floor} generated requests for "
                + ", ".join(f"{p} ({n})" for p, n in short.items()),
                red=True,
            )


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    from .suite import current

    yield current()
