"""What a provider module gives the engine, and what the engine hands its handlers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from .jsoncodec import copy_json
from .store import IndexKeys, Record, RecordNotFound, Store, VersionConflict, Window, etag_matches
from .validation import Violation

if TYPE_CHECKING:
    from .webhooks.model import WebhookDef

__all__ = [
    "AdminCreated",
    "ApiError",
    "Context",
    "ErrorScope",
    "Handlers",
    "ProviderDef",
    "Recording",
    "Reply",
    "SecretRegistry",
    "index_keys",
    "sort_stamp",
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
    # The simulated clock, for everyone (None) or one tenant: `identify` runs before the
    # tenant (so `now`) is known, and a token's expiry is on its tenant's clock.
    clock: Callable[[str | None], datetime] | None = None
    # `serve --credentials`: "open" (any well-formed credential names a tenant) or
    # "registered" (only registered ones: see mockserver/credentials.py).
    credential_mode: str = "open"

    def clock_now(self, tenant: str | None) -> datetime:
        return self.now if self.clock is None else self.clock(tenant or None)

    # -- records, with the provider's lifecycle applied lazily on every read --------------
    def fetch(self, record_id: str) -> Record | None:
        record = self.store.get(self.provider.name, self.tenant, record_id)
        return None if record is None else self.settle(record)

    def settle_due(self) -> None:
        """Settle the tenant's records whose deadline has come; the others cannot have
        changed, so a list need not look at them."""
        for record in self.store.due(self.provider.name, self.tenant, self.now.timestamp()):
            self.settle(record)

    def records(self) -> list[Record]:
        """Every record of the tenant, settled, in the order they were created."""
        self.settle_due()
        return self.store.list(self.provider.name, self.tenant)

    def listing(
        self,
        *,
        status: str | None = None,
        descending: bool = False,
        offset: int = 0,
        limit: int | None = None,
        keep: Callable[[JsonDict], bool] | None = None,
    ) -> tuple[list[Record], int]:
        """One page of the tenant's records, settled, in the provider's list order
        (`ProviderDef.order_key`, reversed if `descending`), and how many there are in all.
        `status` is served by the store's index; `keep`, any other filter, is applied here
        to every record of that status, so the page and the total are the filtered ones."""
        self.settle_due()
        name = self.provider.name
        if keep is None:
            return self.store.page(name, self.tenant, Window(status, descending, offset, limit))
        candidates, _ = self.store.page(name, self.tenant, Window(status, descending))
        selected = [record for record in candidates if keep(record.data)]
        return selected[offset : None if limit is None else offset + limit], len(selected)

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
                return self._write(current, change)
            except VersionConflict as conflict:
                current = self.settle(conflict.current)
        raise RecordNotFound(record.id)

    def _write(self, record: Record, change: Callable[[JsonDict], JsonDict]) -> Record:
        """The change, made on a copy, written over this version of the record."""
        data = change(copy_json(record.data))
        return self.store.replace(record, data)

    def update_if_match(self, record: Record, change: Callable[[JsonDict], JsonDict]) -> Record:
        """A conditional write: the request's If-Match must name the record's current ETag.
        `If-Match: *` holds for any current version (RFC 9110 §13.1.1): such a write that
        meets a concurrent one is applied again on top of it, never answered 412."""
        header = str(self.headers.get("If-Match", ""))
        if header.strip() == "*":
            return self.update(record, change)
        stale = ApiError(
            412,
            "precondition_failed",
            "The If-Match header does not match the current ETag of the resource; "
            "GET it again and retry with the new ETag.",
        )
        if not etag_matches(header, record.etag):
            raise stale
        try:
            return self._write(record, change)
        except VersionConflict:
            raise stale from None


_SETTLE_STEPS = 16  # a lifecycle reaches a fixed point in a step or two; this bounds a bad one


def settle(provider: ProviderDef, store: Store, record: Record, now: datetime) -> Record | None:
    """Apply a provider's clock rules to one record until they change nothing more, and
    persist the outcome (a concurrent write makes it start again from that write)."""
    current: Record | None = record
    for _ in range(_SETTLE_STEPS):
        if current is None:
            return None
        outcome = provider.lifecycle(current.data, now)
        if outcome is current.data:
            return current
        try:
            if outcome is None:
                store.delete(current.provider, current.tenant, current.id)
                return None
            current = store.replace(current, outcome)
        except VersionConflict as conflict:
            current = conflict.current
        except RecordNotFound:
            return None
    return current


_MICROSECOND = 1_000_000
_ORIGIN = datetime(1, 1, 1, tzinfo=UTC)
_SPAN = 10**18  # microseconds: more than from year 1 to year 9999


def sort_stamp(moment: datetime, *, newest_first: bool = False) -> str:
    """A fixed-width string whose text order is the instants' time order (or its reverse):
    the building block of an `order_key`. A naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _ORIGIN
    micros = (delta.days * 86_400 + delta.seconds) * _MICROSECOND + delta.microseconds
    return f"{(_SPAN - 1 - micros) if newest_first else micros:018d}"


def _no_order(data: JsonDict) -> str:
    return ""


def _no_deadline(data: JsonDict) -> datetime | None:
    return None


def index_keys(provider: ProviderDef) -> Callable[[JsonDict], IndexKeys]:
    """What the store indexes this provider's records by: status, list order, deadline."""
    status_of, order_key, deadline_of = provider.status_of, provider.order_key, provider.deadline

    def keys(data: JsonDict) -> IndexKeys:
        deadline = deadline_of(data)
        return status_of(data), order_key(data), None if deadline is None else deadline.timestamp()

    return keys


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


def _as_shown(consent: JsonDict) -> JsonDict:
    return consent


@dataclass(slots=True, frozen=True)
class Recording:
    """How `serve --record` finds consents in live responses and makes fixtures of them."""

    # The spec's component schema of one consent: a response whose body is it, or holds it or
    # a list of it (one or two levels down), carries consents.
    schema: str = "Consent"
    # The fixture fields (what `admin_create` takes) that recreate a consent as the API shows it.
    to_fixture: Callable[[JsonDict], JsonDict] = _as_shown


class SecretRegistry(Protocol):
    """A provider's registry of tenants' credentials (`credentials.FirstSecret`)."""

    def entry(self, ctx: Context, tenant: str) -> JsonDict | None: ...
    def revoke(self, ctx: Context, tenant: str) -> None: ...


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
    # OpenAPI path items for the routes `admin` adds, keyed by their path under
    # /__admin/<provider> ("/outbox"), for the admin API's document (GET /__admin/openapi.json).
    admin_paths: Mapping[str, Mapping[str, Any]] | None = None
    seed_tenant: Callable[[Context, JsonDict], None] | None = None
    # Where the provider keeps the credentials `seed_tenant` registers (kit.FirstSecret):
    # what DELETE /__admin/<provider>/credentials/<id> revokes.
    registries: tuple[SecretRegistry, ...] = ()
    # The list order, as a string (see sort_stamp); ties are broken by record id.
    order_key: Callable[[JsonDict], str] = _no_order
    # The first instant at which `lifecycle` would change the record (None: it never will).
    # It must be exact or early: for every `now` before it, lifecycle(data, now) is data.
    deadline: Callable[[JsonDict], datetime | None] = _no_deadline
    # Which consent changes produce webhook events, their bodies and signature (None: the
    # provider documents no webhooks). See mockserver/webhooks.
    webhooks: WebhookDef | None = None
    # Where live responses carry consents, for `serve --record` (see mockserver/recording.py).
    recording: Recording = Recording()

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(self.transitions)
