"""The application factory: build a simulator for some providers, with its state on the app."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

from .behaviour import index_keys
from .clock import SimClock
from .control import admin_blueprint
from .credentials import MODES
from .dashboard import dashboard_blueprint
from .engine import Engine
from .faults import FaultBook
from .journal import Journal
from .openapi import publish_specs
from .providers import KNOWN, load_provider
from .proxy import Proxy
from .recording import Recorder
from .runtime import ProviderRuntime
from .sandbox import sandbox_blueprint
from .seeding import seed_directory
from .spec import SpecError, load_spec, snake_case
from .storage import open_store
from .store import Store
from .stores.memory import MemoryStore
from .webhooks import install_webhooks

__all__ = ["Simulator", "create_app", "default_spec_dir", "default_fixture_dir"]

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent  # the repository, when this runs from a checkout (or an editable install)


def _data_dir(name: str) -> Path:
    """`specs` or `fixtures`: the copy built into the installed package, else the checkout's."""
    # A wheel holds them as package data (mockserver/_specs, mockserver/_fixtures; see
    # pyproject.toml); a checkout keeps its one copy at the top of the repository.
    packaged = PACKAGE / f"_{name}"
    return packaged if packaged.is_dir() else ROOT / name


def default_spec_dir() -> Path:
    """MOCKSERVER_SPEC_DIR, else the specs that came with the package."""
    return Path(os.environ.get("MOCKSERVER_SPEC_DIR") or _data_dir("specs"))


def default_fixture_dir() -> Path:
    """MOCKSERVER_FIXTURE_DIR, else the default fixture files that came with the package."""
    return Path(os.environ.get("MOCKSERVER_FIXTURE_DIR") or _data_dir("fixtures"))


@dataclass(slots=True)
class Simulator:
    """All state of one simulator: what `app.extensions["mockserver"]` holds. The layers below
    `app` see it as a `runtime.Simulation`."""

    runtimes: dict[str, ProviderRuntime]
    store: Store
    clock: SimClock
    journal: Journal
    faults: FaultBook
    strict: bool
    fixture_dir: Path | None
    admin_token: str | None = None
    credential_mode: str = "open"
    engine: Engine = field(init=False)

    def operations(self) -> dict[str, set[str]]:
        return {name: set(rt.spec.operations) for name, rt in self.runtimes.items()}

    def reset(self, *, reseed: bool = True) -> None:
        """Forget every consent, request, fault and clock change; then reload the fixtures.
        One reset at a time, across every worker: two that interleaved would leave one's
        fixtures cleared by the other's start."""
        with self.store.exclusive():
            self.store.clear()  # records, values, journal, faults and the clock's settings
            self.clock.reset()
            if reseed and self.fixture_dir is not None:
                seed_directory(self, self.fixture_dir)


def create_app(
    providers: Iterable[str] | None = None,
    *,
    store: Store | str | None = None,
    clock: SimClock | None = None,
    strict: bool = False,
    fixtures: str | Path | None = None,
    spec_dir: str | Path | None = None,
    max_body_bytes: int = 1024 * 1024,
    journal_size: int = 10_000,
    admin_token: str | None = None,
    proxy: Mapping[str, str] | None = None,
    proxy_timeout: tuple[float, float] = (5.0, 30.0),
    record: str | Path | None = None,
    credentials: str = "open",
) -> Flask:
    """Build a Flask app serving the given providers (all known ones by default).

    `store` is a Store, or a spec: "memory" (default) or "sqlite:PATH".
    `fixtures` is a folder of `<provider>.yaml` files to seed from, or None to start empty; a
    persistent store that already holds consents is not seeded again.
    `strict` checks every response against the spec and raises `ContractViolation` on a
    mismatch, so the simulator can never drift from its own contract.
    `proxy` maps served providers to the live base URL their requests are forwarded to
    (`proxy_timeout`: connect and read, in seconds); `record` is a folder where the consents
    those live answers carry are written as fixtures (see mockserver/proxy.py, recording.py).
    `credentials`: "open" (any well-formed credential names a tenant) or "registered" (only
    the fixtures' and those registered at /__admin/<provider>/credentials; docs/admin.md).
    """
    if credentials not in MODES:
        raise ValueError(f"credentials: {credentials!r} is not one of {', '.join(MODES)}")
    names = list(providers) if providers is not None else list(KNOWN)
    if not names:
        raise ValueError("create_app() needs at least one provider")
    specs = Path(spec_dir) if spec_dir is not None else default_spec_dir()
    runtimes: dict[str, ProviderRuntime] = {}
    for name in dict.fromkeys(names):
        definition = load_provider(name)
        spec = load_spec(name, specs / definition.spec_file)
        _check_handlers(name, spec.operations, set(definition.handlers.by_name))
        secret_headers = frozenset(
            str(s.get("name", "")).lower()
            for s in spec.security_schemes.values()
            if s.get("type") == "apiKey"
        ) | frozenset(
            f.removeprefix("header:") for f in definition.secret_fields if f.startswith("header:")
        )
        runtimes[name] = ProviderRuntime(definition, spec, secret_headers)

    app = Flask("mockserver", static_folder=None)  # no static files: no /static route
    app.url_rule_class = LazyBuilderRule
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    state = open_store(store) if isinstance(store, str) else store or MemoryStore()
    for name, runtime in runtimes.items():
        state.index(name, index_keys(runtime.definition))
    clock = clock if clock is not None else SimClock(backing=state)
    # Expired values are collected at the earliest instant any clock shows (the global one,
    # each tenant's): a value is collected only once it is expired for every reader.
    state.collect_by(clock.earliest)
    sim = Simulator(
        runtimes=runtimes,
        store=state,
        clock=clock,
        journal=Journal(state, journal_size),
        faults=FaultBook(state),
        strict=strict,
        fixture_dir=Path(fixtures) if fixtures is not None else None,
        admin_token=admin_token,
        credential_mode=credentials,
    )
    sim.engine = Engine(sim)
    for runtime in runtimes.values():
        sim.engine.mount(app, runtime)
    if proxy or record is not None:
        _install_proxy(app, sim, proxy or {}, proxy_timeout, record, max_body_bytes)
    publish_specs(app, sim)  # /<provider>/openapi.json|yaml: not journaled, not through FastPath
    app.register_error_handler(404, sim.engine.unmatched)
    app.register_error_handler(405, sim.engine.unmatched)
    app.register_blueprint(admin_blueprint(sim))
    app.register_blueprint(sandbox_blueprint(sim))
    install_webhooks(app, sim)  # the outbox, its sender and /__admin/webhooks
    app.register_blueprint(dashboard_blueprint(sim))  # the pages at /__admin/ui
    app.extensions["mockserver"] = sim
    if sim.fixture_dir is not None and state.count() == 0:
        # A persistent store that already holds consents keeps them: no duplicate seeding on a
        # restart, nor by each worker process of one server.
        seed_directory(sim, sim.fixture_dir)
    return app


def _install_proxy(
    app: Flask,
    sim: Simulator,
    upstreams: Mapping[str, str],
    timeout: tuple[float, float],
    record: str | Path | None,
    max_body_bytes: int,
) -> None:
    """Put the proxy in front of the engine for the proxied mounts (the others untouched)."""
    unknown = sorted(set(upstreams) - set(sim.runtimes))
    if unknown:
        raise ValueError(
            f"proxy: {', '.join(unknown)} not served (served: {', '.join(sim.runtimes)})"
        )
    if not upstreams:
        raise ValueError("record: recording needs a proxied provider (proxy={name: base URL})")
    if min(timeout) <= 0:
        raise ValueError(f"proxy_timeout: connect and read must be above 0 s, not {timeout}")
    app.wsgi_app = Proxy(  # type: ignore[method-assign]
        app.wsgi_app,
        sim,
        sim.engine,
        upstreams,
        timeout=timeout,
        max_body_bytes=max_body_bytes,
        recorder=None if record is None else Recorder(Path(record), sim),
    )


class LazyBuilderRule(Rule):
    """A URL rule whose two URL builders (used by `url_for` only) are compiled on first use.

    Werkzeug compiles both, with `compile()`, for every rule it adds: half of the time of
    building the app, for builders the simulator rarely or never calls. Matching is
    unchanged. Should a Werkzeug version no longer have `_compile_builder`, nothing is
    deferred."""

    def _compile_builder(self, append_unknown: bool = True) -> Any:
        compiled: list[Any] = []

        def build(rule: Rule, **values: Any) -> Any:
            if not compiled:
                compiled.append(Rule._compile_builder(rule, append_unknown))
            return compiled[0](rule, **values)

        return build


def _check_handlers(provider: str, operations: Iterable[str], handlers: set[str]) -> None:
    wanted = {snake_case(op): op for op in operations}
    missing = sorted(set(wanted) - handlers)
    extra = sorted(handlers - set(wanted))
    if missing:
        raise SpecError(
            f"provider {provider!r}: operations without a handler: "
            + ", ".join(f"{wanted[m]} (define `def {m}(ctx)` with @handlers)" for m in missing)
        )
    if extra:
        raise SpecError(
            f"provider {provider!r}: handlers for no operation in the spec: {', '.join(extra)}"
        )
