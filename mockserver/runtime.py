"""What the simulator offers to the layers above the store: its providers and its state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .behaviour import ProviderDef
from .clock import SimClock
from .faults import FaultBook
from .journal import Journal
from .spec import Spec
from .store import Store

__all__ = ["ProviderRuntime", "Simulation"]


@dataclass(slots=True)
class ProviderRuntime:
    """One served provider: its definition, its compiled spec, the headers that carry secrets."""

    definition: ProviderDef
    spec: Spec
    secret_headers: frozenset[str]

    @property
    def name(self) -> str:
        return self.definition.name


class Simulation(Protocol):
    """The simulator as the engine, the control plane, the sandbox, the lifecycle, the seeding,
    the published documents and the webhooks see it. `app.Simulator` is the one implementation;
    this protocol lets those modules depend on it without importing `app` (which imports them).
    """

    # Settable: the webhooks wrap the store in a watcher once the app is built.
    store: Store

    @property
    def runtimes(self) -> Mapping[str, ProviderRuntime]: ...
    @property
    def clock(self) -> SimClock: ...
    @property
    def journal(self) -> Journal: ...
    @property
    def faults(self) -> FaultBook: ...
    @property
    def strict(self) -> bool: ...
    @property
    def fixture_dir(self) -> Path | None: ...
    @property
    def admin_token(self) -> str | None: ...
    @property
    def credential_mode(self) -> str: ...

    def operations(self) -> dict[str, set[str]]:
        """The operationIds each served provider answers."""
        ...

    def reset(self, *, reseed: bool = True) -> None:
        """Forget every consent, request, fault and clock change; then reload the fixtures."""
        ...
