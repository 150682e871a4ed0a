"""consent-mockserver: contract-testing simulators for consent APIs, driven by OpenAPI specs."""

from __future__ import annotations

from .app import Simulator, create_app
from .behaviour import ApiError, Context, ProviderDef, Reply
from .clock import Clock, SimClock, SystemClock
from .engine import ContractViolation
from .spec import SpecError
from .store import Record, Store
from .stores.memory import MemoryStore

__all__ = [
    "ApiError",
    "Clock",
    "Context",
    "ContractViolation",
    "MemoryStore",
    "ProviderDef",
    "Record",
    "Reply",
    "SimClock",
    "Simulator",
    "SpecError",
    "Store",
    "SystemClock",
    "create_app",
]
