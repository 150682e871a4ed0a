"""Injected faults: a delay, a dropped connection, or a status in place of the answer."""

from __future__ import annotations

import time

from ..behaviour import ApiError, Reply
from .errors import render_error
from .exchange import Exchange, Outcome

__all__ = ["any_tenant", "tenant_bound"]


def any_tenant(ex: Exchange) -> Outcome | None:
    """The step before the request is read: a fault for every tenant."""
    return _take(ex, None)


def tenant_bound(ex: Exchange) -> Outcome | None:
    """The step once the tenant is known: a fault for this tenant."""
    return _take(ex, ex.tenant)


def _take(ex: Exchange, tenant: str | None) -> Outcome | None:
    request = ex.request
    fault = ex.sim.faults.take(
        ex.runtime.name,
        ex.op.operation_id,
        request.method,
        request.path,
        tenant,
        tenant_bound=tenant is not None,
    )
    if fault is None:
        return None
    if fault.delay_ms:
        time.sleep(fault.delay_ms / 1000)
    if fault.drop:
        return Outcome(Reply(200), ex.op, tenant or "", [], None, kind="fault", drop=True)
    if fault.status is None:  # a delay only: the request goes on
        return None
    if fault.body is not None:
        reply = Reply(fault.status, fault.body, dict(fault.headers))
    else:
        err = ApiError(fault.status, "fault", f"Injected fault #{fault.id}.")
        reply = render_error(ex.sim, ex.runtime, ex.op, err, ex.request_id, ex.request)
        reply.headers.update(fault.headers)
    return Outcome(reply, ex.op, tenant or "", [], None, kind="fault")
