"""What a provider module gives the engine, and what the engine hands its handlers."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .store import Record, RecordNotFound, Store, VersionConflict, etag_matches
from .validation import Violation

__all__ = [
    "AdminCreated",
    "ApiError",
    "Context",
    "ErrorScope",
    "Handlers",
    "ProviderDef",
    "Reply",
]

JsonDict = dict[str, Any]


class ApiError(Exception):
    """A request the provider refuses. `kind` is generic; `code` is the provider's own code."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        *,
        code: str | None = None,
        violations: Iterable[Violation] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.code = code
        self.violations = list(violations)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


@dataclass(slots=True)
class Reply:
    """What a handler answers. The engine adds ETag, an absolute Location, and the media type."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    record: Record | None = None
    location: str | None = None
    media_type: str | None = None


@dataclass(slots=True, frozen=True)
class ErrorScope:
    """What an error renderer may use to fill the provider's error body."""

    provider: str
    method: str
    path: str
    operation_id: str | None
    now: datetime
    request_headers: Mapping[str, str]
    request_id: str


@dataclass(slots=True)
class Context:
    """One request, validated: its parameters, body, credentials, tenant, and the state."""

    provider: ProviderDef
    operation_id: str
    path: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, Any]
    body: Any
    credentials: dict[str, Any]
    store: Store
    now: datetime
    base_url: str
    request_id: str
    tenant: str = ""
    sandbox_url: str = ""
    state: dict[str, Any] = field(default_factory=dict)

    # -- records, with the provider's lifecycle applied lazily on every read --------------
    def fetch(self, record_id: str) -> Record | None:
        record = self.store.get(self.provider.name, self.tenant, record_id)
        return None if record is None else self.settle(record)

    def records(self) -> list[Record]:
        settled = (self.settle(r) for r in self.store.list(self.provider.name, self.tenant))
        return [r for r in settled if r is not None]

    def settle(self, record: Record) -> Record | None:
        """Bring a record up to the clock: expire or purge it as the provider's rules say."""
        return settle(self.provider, self.store, record, self.now)

    def insert(self, record_id: str, data: JsonDict) -> Record:
        return self.store.insert(self.provider.name, self.tenant, record_id, data)

    def update(self, record: Record, change: Callable[[JsonDict], JsonDict]) -> Record:
        """Write a change made on a copy of the record; a concurrent write makes it retry."""
        current: Record | None = record
        while current is not None:
            try:
                return self.store.replace(
                    current.provider,
                    current.tenant,
                    current.id,
                    change(copy.deepcopy(current.data)),
                    current.version,
                )
            except VersionConflict as conflict:
                current = self.settle(conflict.current)
        raise RecordNotFound(record.id)

    def update_if_match(self, record: Record, change: Callable[[JsonDict], JsonDict]) -> Record:
        """A conditional write: the request's If-Match must name the record's current ETag."""
        header = str(self.headers.get("If-Match", ""))
        stale = ApiError(
            412,
            "precondition_failed",
            "The If-Match header does not match the current ETag of the resource; "
            "GET it again and retry with the new ETag.",
        )
        if not etag_matches(header, record.etag):
            raise stale
        try:
            return self.store.replace(
                record.provider,
                record.tenant,
                record.id,
                change(copy.deepcopy(record.data)),
                record.version,
            )
        except VersionConflict:
            raise stale from None


def settle(provider: ProviderDef, store: Store, record: Record, now: datetime) -> Record | None:
    """Apply a provider's clock rules to one record and persist the outcome."""
    current: Record | None = record
    while current is not None:
        outcome = provider.lifecycle(current.data, now)
        if outcome is current.data:
            return current
        try:
            if outcome is None:
                store.delete(current.provider, current.tenant, current.id)
                return None
            return store.replace(
                current.provider, current.tenant, current.id, outcome, current.version
            )
        except VersionConflict as conflict:
            current = conflict.current
        except RecordNotFound:
            return None
    return None


Handler = Callable[[Context], Reply]


class Handlers:
    """A provider's handlers, registered by the snake_case name of their operationId."""

    def __init__(self) -> None:
        self.by_name: dict[str, Handler] = {}

    def __call__(self, handler: Handler) -> Handler:
        self.by_name[handler.__name__] = handler
        return handler


@dataclass(slots=True, frozen=True)
class AdminCreated:
    """A consent made through the control plane: its id, stored data, and any secrets."""

    record_id: str
    data: JsonDict
    secrets: JsonDict = field(default_factory=dict)


@dataclass(slots=True)
class ProviderDef:
    """Everything particular to one provider. The engine knows nothing else about it."""

    name: str
    title: str
    spec_file: str
    handlers: Handlers
    identify: Callable[[Context], str]
    render_error: Callable[[ApiError, ErrorScope], Reply]
    render: Callable[[JsonDict], JsonDict]
    lifecycle: Callable[[JsonDict, datetime], JsonDict | None]
    status_of: Callable[[JsonDict], str]
    parse_status: Callable[[Any], str | None]
    transitions: Mapping[str, tuple[str, ...]]
    transition: Callable[[JsonDict, str, datetime, JsonDict], JsonDict]
    admin_create: Callable[[Context, JsonDict], AdminCreated]
    default_tenant: str
    credentials_doc: str
    secret_tenant: bool = False
    secret_fields: frozenset[str] = frozenset()
    approved: str = ""
    rejected: str = ""
    sandbox: Callable[[Any], None] | None = None
    admin: Callable[[Any], None] | None = None
    seed_tenant: Callable[[Context, JsonDict], None] | None = None

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(self.transitions)
