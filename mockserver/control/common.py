"""What every admin view shares: the simulator of the current app, JSON errors, the body."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response

from ..adminguard import BadAdminRequest, error, json_object, simulator
from ..journal import fingerprint
from ..lifecycle import TransitionRefused

__all__ = [
    "BadAdminRequest",
    "Route",
    "check_provider",
    "error",
    "json_object",
    "refused",
    "simulator",
    "tenant_label",
]

# An admin route: its rule under /__admin, its method and its view. Each resource's module
# lists its own (`ROUTES`), in the order they are registered.
Route = tuple[str, str, Callable[..., Response]]


def refused(exc: TransitionRefused) -> Response:
    """409: the provider does not allow this status change; the body says what it allows."""
    return error(
        409,
        "transition_not_allowed",
        str(exc),
        current=exc.current,
        requested=exc.wanted,
        allowed=list(exc.allowed),
    )


def check_provider(name: str) -> None:
    sim = simulator()
    if name not in sim.runtimes:
        raise BadAdminRequest(f"unknown provider {name!r}; served: {', '.join(sim.runtimes)}")


def tenant_label(provider: str, tenant: str) -> str:
    """The tenant as the control plane shows it: a fingerprint when it is a secret."""
    secret = simulator().runtimes[provider].definition.secret_tenant
    return fingerprint(tenant) if secret else tenant
