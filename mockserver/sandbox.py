"""Sandbox pages under /__sandbox: placeholder until the journey pages land."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint

if TYPE_CHECKING:
    from .app import Simulator


def sandbox_blueprint(sim: Simulator) -> Blueprint:
    return Blueprint("sandbox", __name__, url_prefix="/__sandbox")
