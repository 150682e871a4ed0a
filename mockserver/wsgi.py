"""The entry point the production server loads in each worker; configured by environment."""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from .app import create_app
from .heap import freeze_survivors
from .rsgi import WsgiOnRsgi

__all__ = [
    "app_from_env",
    "build_app",
    "collector_paused",
    "freeze_heap",
    "rsgi_app",
    "rsgi_from_env",
    "settings_to_env",
]

_PREFIX = "MOCKSERVER_SERVE_"


def settings_to_env(settings: dict[str, object]) -> dict[str, str]:
    """Encode `serve` settings for worker processes (which the server starts fresh)."""
    return {f"{_PREFIX}SETTINGS": json.dumps(settings)}


def _settings() -> dict[str, Any]:
    settings: dict[str, Any] = json.loads(os.environ.get(f"{_PREFIX}SETTINGS", "{}"))
    return settings


def build_app() -> Flask:
    """Build (and seed) the app from the settings `mockserver serve` put in the environment."""
    settings = _settings()
    app = create_app(
        settings.get("providers"),
        fixtures=settings.get("fixtures"),
        admin_token=settings.get("admin_token") or os.environ.get("MOCKSERVER_ADMIN_TOKEN"),
        strict=bool(settings.get("strict", False)),
        journal_size=int(settings.get("journal_size", 10_000)),
        max_body_bytes=int(settings.get("max_body_bytes", 1024 * 1024)),
        store=str(settings.get("store", "memory")),
        proxy=settings.get("proxy") or None,
        proxy_timeout=tuple(settings.get("proxy_timeout") or (5.0, 30.0)),
        record=settings.get("record"),
        credentials=str(settings.get("credentials", "open")),
    )
    if settings.get("log") == "requests":
        from .requestlog import RequestLog

        # Outermost, around the engine's fast path: it times and sees every request. Whether
        # to colour was decided once by `serve`, so every worker writes the same way.
        app.wsgi_app = RequestLog(  # type: ignore[method-assign]
            app.wsgi_app,
            app.extensions["mockserver"].journal,
            sys.stdout,
            color=bool(settings.get("color", False)),
        )
    return app


def freeze_heap() -> None:
    """Move every object alive now (modules, specs, validators, routes, seeded consents) to the
    permanent GC generation, once the app is built and seeded.

    The full collection never rescans them again: with 300k consents in the memory store it
    stalled the worker for 0.4-0.8 s each time. Objects made later (consents created over
    HTTP) are collected as usual. Before a fork it also keeps the child's GC from writing to
    the pages it shares with the parent. O(1): it moves list heads, it does not walk the heap.
    From then on what survives each full collection is frozen too (`heap.freeze_survivors`):
    consents created over HTTP would otherwise make every full collection walk all of them, a
    pause that grew with the store (20 ms at 50k consents, 40 ms at 80k) and set create's p99.
    """
    gc.freeze()
    freeze_survivors()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection while the app is built: the objects made are long-lived (and
    frozen next), so the collections their allocations trigger would only rescan them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def app_from_env() -> Flask:
    """The server's app factory, run in each worker process that builds its own app."""
    with collector_paused():
        app = build_app()
        freeze_heap()  # built and seeded: see freeze_heap
    return app


# Threads for the requests that may block when the rest run on the event loop: those of a
# provider `serve --proxy` forwards to its live API (each waits for that API's answer).
PROXY_THREADS = 4


def rsgi_app(app: Flask) -> WsgiOnRsgi:
    """The app as granian's RSGI interface serves it (`mockserver serve`). `threads` 1 (the
    default): every request on the event loop, but a proxied provider's on PROXY_THREADS
    threads; above 1: every request on that many threads."""
    settings = _settings()
    threads = int(settings.get("threads", 1))
    most = app.config["MAX_CONTENT_LENGTH"]
    if threads > 1:
        return WsgiOnRsgi(app, max_body=most, threads=threads)
    mounts = tuple(f"/{name}/" for name in settings.get("proxy") or ())
    if not mounts:
        return WsgiOnRsgi(app, max_body=most)
    return WsgiOnRsgi(
        app,
        max_body=most,
        threads=PROXY_THREADS,
        offload=lambda path: (path + "/").startswith(mounts),
    )


def rsgi_from_env() -> WsgiOnRsgi:
    """The server's factory, run in each worker process that builds its own app."""
    return rsgi_app(app_from_env())
