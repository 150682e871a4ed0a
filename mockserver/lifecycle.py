"""Consents made and moved by the control plane, the fixtures and the sandbox pages."""

from __future__ import annotations

import copy
from typing import Any

from .behaviour import Context, settle
from .runtime import Simulation
from .store import Record, VersionConflict

__all__ = ["TransitionRefused", "admin_context", "create_consent", "find_consent", "move_consent"]


class TransitionRefused(Exception):
    """The provider does not allow this status change; `allowed` lists what it does allow."""

    def __init__(self, current: str, wanted: str, allowed: tuple[str, ...]) -> None:
        choices = ", ".join(allowed) if allowed else "none: it is a final state"
        super().__init__(
            f"cannot move from {current} to {wanted}; allowed from {current}: {choices}"
        )
        self.current = current
        self.wanted = wanted
        self.allowed = allowed


def admin_context(sim: Simulation, provider: str, tenant: str, base_url: str = "") -> Context:
    runtime = sim.runtimes[provider]
    return Context(
        provider=runtime.definition,
        operation_id="",
        path={},
        query={},
        headers={},
        body=None,
        credentials={},
        store=sim.store,
        now=sim.clock.now(tenant or None),
        base_url=f"{base_url}/{provider}",
        request_id="admin",
        tenant=tenant,
        sandbox_url=f"{base_url}/__sandbox/{provider}",
        clock=sim.clock.now,
    )


def create_consent(
    sim: Simulation, provider: str, fields: dict[str, Any], base_url: str = ""
) -> tuple[Record, dict[str, Any]]:
    """Create a consent for a tenant in any state; answer it as the provider's API shows it."""
    definition = sim.runtimes[provider].definition
    fields = dict(fields)
    tenant = fields.pop("tenant", None)
    if not isinstance(tenant, str) or not tenant:
        raise ValueError(
            "'tenant' is required: the credential identity that owns the consent "
            f"({definition.credentials_doc})"
        )
    raw_status = fields.pop("status", None)
    status = definition.statuses[0] if raw_status is None else definition.parse_status(raw_status)
    if status is None:
        raise ValueError(
            f"status {raw_status!r} is not a {provider} status; "
            f"known: {', '.join(definition.statuses)}"
        )
    ctx = admin_context(sim, provider, tenant, base_url)
    made = definition.admin_create(ctx, {"status": status, **fields})
    record = sim.store.insert(provider, tenant, made.record_id, made.data)
    return record, {**definition.render(record.data), **made.secrets}


def find_consent(sim: Simulation, provider: str, record_id: str) -> Record | None:
    """A consent by id whoever owns it, brought up to its tenant's clock."""
    record = sim.store.locate(provider, record_id)
    if record is None:
        return None
    definition = sim.runtimes[provider].definition
    return settle(definition, sim.store, record, sim.clock.now(record.tenant))


def move_consent(
    sim: Simulation, provider: str, record_id: str, wanted: Any, /, **options: Any
) -> Record | None:
    """Apply one of the provider's allowed transitions; None when the consent does not exist."""
    definition = sim.runtimes[provider].definition
    target = definition.parse_status(wanted)
    if target is None:
        raise ValueError(
            f"status {wanted!r} is not a {provider} status; known: {', '.join(definition.statuses)}"
        )
    while True:
        record = find_consent(sim, provider, record_id)
        if record is None:
            return None
        current = definition.status_of(record.data)
        allowed = definition.transitions.get(current, ())
        if target not in allowed:
            raise TransitionRefused(current, target, allowed)
        data = definition.transition(
            copy.deepcopy(record.data), target, sim.clock.now(record.tenant), options
        )
        try:
            return sim.store.replace(record, data)
        except VersionConflict:
            continue
