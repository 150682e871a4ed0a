"""Injected faults: a delay, a dropped connection, or a status in place of the answer."""

from __future__ import annotations

import time

from ..behaviour import ApiError, Reply
from ..deferral import DEFERRAL, Deferral
from ..faults import Fault
from .errors import render_error
from .exchange import Exchange, Outcome

__all__ = ["DEFERRED", "any_tenant", "tenant_bound"]

DEFERRED = "deferred"  # an Outcome's kind: the server waits out a delay, then calls again


def any_tenant(ex: Exchange) -> Outcome | None:
    """The step before the request is read: a fault for every tenant."""
    return _take(ex, None, "fault:any")


def tenant_bound(ex: Exchange) -> Outcome | None:
    """The step once the tenant is known: a fault for this tenant."""
    return _take(ex, ex.tenant, "fault:tenant")


def _take(ex: Exchange, tenant: str | None, step: str) -> Outcome | None:
    deferral: Deferral | None = ex.request.environ.get(DEFERRAL)
    # Called again after the server waited out this step's delay: the fault drawn then.
    fault: Fault | None = deferral.done.get(step) if deferral is not None else None
    if fault is None:
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
        if fault.delay_ms and deferral is not None:
            # The server waits without a thread, then runs the request again from the top;
            # this step then finds the fault in `done` and goes on as after a sleep.
            deferral.wait(step, fault, fault.delay_ms / 1000)
            return Outcome(Reply(503), ex.op, tenant or "", [], None, kind=DEFERRED)
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
