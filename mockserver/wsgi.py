"""The WSGI entry point the production server imports in each worker; configured by environment."""

from __future__ import annotations

import json
import os

from flask import Flask

from .app import create_app

__all__ = ["app_from_env", "settings_to_env"]

_PREFIX = "MOCKSERVER_SERVE_"


def settings_to_env(settings: dict[str, object]) -> dict[str, str]:
    """Encode `serve` settings for worker processes (which the server starts fresh)."""
    return {f"{_PREFIX}SETTINGS": json.dumps(settings)}


def app_from_env() -> Flask:
    """Build the app from the settings `mockserver serve` put in the environment."""
    settings = json.loads(os.environ.get(f"{_PREFIX}SETTINGS", "{}"))
    return create_app(
        settings.get("providers"),
        fixtures=settings.get("fixtures"),
        admin_token=settings.get("admin_token") or os.environ.get("MOCKSERVER_ADMIN_TOKEN"),
        strict=bool(settings.get("strict", False)),
        journal_size=int(settings.get("journal_size", 10_000)),
        max_body_bytes=int(settings.get("max_body_bytes", 1024 * 1024)),
        store=str(settings.get("store", "memory")),
    )
