"""Injected faults: a status and body, a delay, or a dropped connection, for matching requests."""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .store import Store

__all__ = ["Fault", "FaultBook", "FaultError", "dropped_body"]


class FaultError(ValueError):
    """A fault definition that cannot be used; the message says which field and why."""


@dataclass(slots=True)
class Fault:
    id: int
    provider: str | None = None
    operation: str | None = None
    path: str | None = None
    method: str | None = None
    tenant: str | None = None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_ms: int = 0
    drop: bool = False
    times: int | None = None
    hits: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The fault as the admin API shows it: the id, each field a definition sets, then
        the uses left and the uses made."""
        shown: dict[str, Any] = {"id": self.id}
        shown.update((name, getattr(self, name)) for name in _FIELDS)
        shown["remaining"] = None if self.times is None else self.times - self.hits
        shown["hits"] = self.hits
        return shown

    def matches(
        self, provider: str, operation: str | None, method: str, path: str, tenant: str | None
    ) -> bool:
        return (
            (self.provider is None or self.provider == provider)
            and (self.operation is None or self.operation == operation)
            and (self.method is None or self.method.upper() == method)
            and (self.path is None or fnmatch.fnmatchcase(path, self.path))
            and (self.tenant is None or self.tenant == tenant)
        )


# What a definition may set, in the order the admin API shows it: every field but the two
# the book keeps (the id it gives, the hits it counts).
_FIELDS = tuple(f.name for f in dataclasses.fields(Fault) if f.name not in ("id", "hits"))


class FaultBook:
    """The faults in force, kept in the store so every worker process sees the same ones."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, spec: Mapping[str, Any], providers: Mapping[str, set[str]]) -> Fault:
        fields = _validated(spec, providers)
        stored = self.store.fault_add(fields)
        return Fault(**stored)

    def take(
        self,
        provider: str,
        operation: str | None,
        method: str,
        path: str,
        tenant: str | None,
        *,
        tenant_bound: bool,
    ) -> Fault | None:
        """The first fault that matches, counted as used; `tenant_bound` picks which kind."""
        for stored in self.store.fault_list():
            fault = Fault(**stored)
            if (fault.tenant is not None) != tenant_bound:
                continue
            if fault.matches(provider, operation, method, path, tenant) and self.store.fault_hit(
                fault.id
            ):
                return fault
        return None

    def list(self) -> list[dict[str, Any]]:
        return [Fault(**stored).as_dict() for stored in self.store.fault_list()]

    def remove(self, fault_id: int | None = None) -> int:
        return self.store.fault_remove(fault_id)


def _validated(spec: Mapping[str, Any], providers: Mapping[str, set[str]]) -> dict[str, Any]:
    """Check a fault definition field by field; answer its normalised fields."""
    unknown = set(spec).difference(_FIELDS)
    if unknown:
        raise FaultError(
            f"unknown fault fields: {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(_FIELDS))}"
        )
    for name in ("provider", "operation", "path", "method", "tenant"):
        # First: an object here would be looked up below (unhashable: a 500).
        if spec.get(name) is not None and not isinstance(spec.get(name), str):
            raise FaultError(f"{name} must be a string")
    provider = spec.get("provider")
    if provider is not None and provider not in providers:
        raise FaultError(f"unknown provider {provider!r}; served: {', '.join(sorted(providers))}")
    operation = spec.get("operation")
    if operation is not None:
        known = providers[provider] if provider else set().union(*providers.values())
        if operation not in known:
            raise FaultError(f"unknown operation {operation!r}; known: {', '.join(sorted(known))}")
    status = _integer(spec, "status", None)
    if status is not None and not 100 <= status <= 599:
        raise FaultError("status must be an integer HTTP status between 100 and 599")
    delay = _integer(spec, "delay_ms", 0)
    if delay is None or not 0 <= delay <= 60_000:
        raise FaultError("delay_ms must be an integer between 0 and 60000")
    times = _integer(spec, "times", None)
    if times is not None and times < 1:
        raise FaultError("times must be a positive integer (omit it for 'until cleared')")
    drop = spec.get("drop", False)
    if not isinstance(drop, bool):
        raise FaultError("drop must be true or false")
    if status is None and not delay and not drop:
        raise FaultError("a fault needs at least one of status, delay_ms or drop")
    headers = spec.get("headers")
    headers = {} if headers is None else headers  # not `or {}`: false is no object either
    if not isinstance(headers, dict):
        raise FaultError("headers must be an object of header names to values")
    return {
        "provider": provider,
        "operation": operation,
        "path": spec.get("path"),
        "method": spec.get("method"),
        "tenant": spec.get("tenant"),
        "status": status,
        "body": spec.get("body"),
        "headers": {str(k): str(v) for k, v in headers.items()},
        "delay_ms": delay,
        "drop": drop,
        "times": times,
    }


def _integer(spec: Mapping[str, Any], name: str, default: int | None) -> int | None:
    """A JSON integer field as an int: 503 or 503.0 (the same number in JSON), never true or
    false (Python ints, but no JSON numbers)."""
    value = spec.get(name, default)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise FaultError(f"{name} must be an integer")
    return value


def dropped_body() -> Iterator[bytes]:
    """A body that breaks off: the client sees the connection close mid-response."""
    yield b"{"
    raise ConnectionAbortedError("fault injected: connection dropped")
