"""Webhooks: consent changes become events in a store outbox, delivered signed by a sender
thread per process. Generic: a provider declares its events and signer (`WebhookDef`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from ..runtime import Simulation
from .admin import webhooks_blueprint
from .hub import Hub, Settings
from .model import GENERIC_HEADER, Event, Hook, Signer, WebhookDef, generic_sign, generic_verify
from .registry import DOC
from .watch import watch_store

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "GENERIC_HEADER",
    "Event",
    "Hook",
    "Hub",
    "Settings",
    "Signer",
    "WebhookDef",
    "generic_sign",
    "generic_verify",
    "install_webhooks",
]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def install_webhooks(app: Flask, sim: Simulation) -> Hub:
    """Give a built app its webhooks: the store watched for the providers that declare them,
    the admin routes, and a sender started on each process's first request if hooks exist."""
    definitions = {name: rt.definition for name, rt in sim.runtimes.items()}
    hub = Hub(sim.store, sim.clock, definitions)
    watched = frozenset(name for name, d in definitions.items() if d.webhooks is not None)
    if watched:
        # a hook a provider's own API registers starts the sender too (see WatchedStore)
        sim.store = watch_store(sim.store, watched, hub, DOC)
        hub.store = sim.store  # the sweep settles through it, so expiry is reported too
    # cast: webhooks/admin.py still names the simulator `app.Simulator` (under TYPE_CHECKING,
    # an import of `app` from below it); once it takes a `runtime.Simulation`, drop the cast.
    app.register_blueprint(webhooks_blueprint(cast(Any, sim), hub))
    app.wsgi_app = _FirstRequest(app.wsgi_app, hub)  # type: ignore[method-assign]
    app.extensions["mockserver.webhooks"] = hub
    return hub


# How many forks this process is from the one that imported the module: a worker forked after
# the app was built sees a number its _FirstRequest has not, without a getpid() per request.
_forks = [0]
os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))


class _FirstRequest:
    """WSGI middleware: on the first request of each process (a forked worker included), start
    the sender if any hook is registered. Then one comparison per request."""

    def __init__(self, wsgi_app: WsgiApp, hub: Hub) -> None:
        self.wsgi_app = wsgi_app
        self.hub = hub
        self.seen = -1  # the fork count of the last process that served a request

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.seen != _forks[0]:
            self.seen = _forks[0]
            self.hub.start_if_registered()
        return self.wsgi_app(environ, start_response)
