"""The handler's Context, the provider's `identify` (the tenant), and the tenant's clock."""

from __future__ import annotations

from ..behaviour import Context
from .exchange import Exchange

__all__ = ["identify", "new_context", "tenant_clock"]


def new_context(ex: Exchange) -> Context:
    """The Context of the request so far: its parameters are filled in by the validation."""
    sim = ex.sim
    host = ex.host_url()
    return Context(
        provider=ex.runtime.definition,
        operation_id=ex.op.operation_id,
        path={},
        query={},
        headers={},
        body=ex.body,
        credentials=ex.credentials,
        store=sim.store,
        now=sim.clock.now(),
        base_url=f"{host}/{ex.runtime.name}",
        request_id=ex.request_id,
        sandbox_url=f"{host}/__sandbox/{ex.runtime.name}",
        clock=sim.clock.now,
        credential_mode=sim.credential_mode,
    )


def identify(ex: Exchange) -> None:
    """The step: the provider tells the tenant from the credentials (or the body)."""
    ctx = ex.ctx = new_context(ex)
    ex.tenant = ctx.tenant = ex.runtime.definition.identify(ctx)


def tenant_clock(ex: Exchange) -> None:
    """The step: the handler's `now`, on the tenant's clock. After the tenant's faults, so a
    request an injected delay held back is handled at the time it goes on."""
    assert ex.ctx is not None, "made by the identify step"
    ex.ctx.now = ex.sim.clock.now(ex.tenant or None)
