"""The store protocol: records, keyed values, documents, journal, faults; backends in `stores`."""

from __future__ import annotations

import builtins
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from werkzeug.http import parse_etags, unquote_etag

__all__ = [
    "COLLECT_EVERY",
    "COLLECT_LIMIT",
    "IndexKeys",
    "KeyFunction",
    "Record",
    "RecordNotFound",
    "Store",
    "VersionConflict",
    "Window",
    "etag_of",
    "etag_matches",
]

JsonDict = dict[str, Any]

IndexKeys = tuple[str, str, float | None]
"""What a store indexes a record by: (status, order, deadline). `status` serves an equality
filter; `order` is a string whose ascending order is the provider's list order (ties keep the
order the records were inserted in); `deadline` is the epoch second from which the provider's
clock rules may change the record (None: never), so a list settles only the records that are
due instead of every one."""

KeyFunction = Callable[[JsonDict], IndexKeys]

# Collecting expired values (`Store.collect`, `Store.collect_by`): a sweep after every
# COLLECT_EVERY writes of a value with an expiry, deleting at most COLLECT_LIMIT values, so no
# request pays for more than that; the limit above the rate keeps up with any write load.
COLLECT_EVERY = 64
COLLECT_LIMIT = 256


def no_keys(data: JsonDict) -> IndexKeys:
    """The keys of a provider nobody registered: no status, insertion-independent id order."""
    return ("", "", None)


@dataclass(slots=True, frozen=True)
class Record:
    """One stored resource: its id, its owner, a version bumped on every write, and its data."""

    provider: str
    tenant: str
    id: str
    version: int
    data: JsonDict

    @property
    def etag(self) -> str:
        return etag_of(self.id, self.version)


@dataclass(slots=True, frozen=True)
class Window:
    """Which records of a tenant's list a page shows (`Store.page`): those of `status` (any
    status if None), in the list's order or its reverse (`descending`), skipping `offset` of
    them and at most `limit` (no limit if None)."""

    ALL: ClassVar[Window]  # the whole list, in its order

    status: str | None = None
    descending: bool = False
    offset: int = 0
    limit: int | None = None


Window.ALL = Window()


class RecordNotFound(LookupError):
    """The record does not exist (for this tenant)."""


class VersionConflict(Exception):
    """A conditional write found another version than the one it expected."""

    def __init__(self, current: Record) -> None:
        super().__init__(f"record {current.id} is at version {current.version}")
        self.current = current


def etag_of(record_id: str, version: int) -> str:
    """A strong entity tag: the version, tied to the record by a checksum of its id."""
    return f'"{version}-{zlib.crc32(record_id.encode()):08x}"'


def etag_matches(header: str, current: str, *, weak: bool = False) -> bool:
    """Whether an If-Match (strong comparison) or If-None-Match (`weak=True`) list names the
    current tag, per RFC 9110 §8.8.3.2 and §13.1: `*` names any current representation; the
    strong comparison needs both tags strong and equal, the weak one only their opaque values
    equal (`W/"1-ab"` matches `"1-ab"`). The list is parsed by werkzeug (quoted tags, `W/`
    prefixes, commas inside quotes)."""
    etags = parse_etags(header)
    if etags.star_tag:
        return True
    tag, is_weak = unquote_etag(current)
    if weak:
        return etags.contains_weak(tag)
    return not is_weak and etags.is_strong(tag)


class Store(Protocol):
    """Where every consent and every keyed value lives. Implementations are thread-safe."""

    def get(self, provider: str, tenant: str, record_id: str) -> Record | None: ...

    def locate(self, provider: str, record_id: str) -> Record | None: ...

    def list(self, provider: str, tenant: str) -> list[Record]: ...

    def insert(self, provider: str, tenant: str, record_id: str, data: JsonDict) -> Record: ...

    def replace(self, record: Record, data: JsonDict) -> Record:
        """Write `data` over `record`, the version of it the caller read (compare-and-set):
        VersionConflict, with the record as it is now, if another write came since;
        RecordNotFound if it is gone."""
        ...

    def delete(self, provider: str, tenant: str, record_id: str) -> bool: ...

    def index(self, provider: str, keys: KeyFunction) -> None:
        """Index this provider's records by `keys` from now on (records already stored
        without keys get them now)."""
        ...

    def due(self, provider: str, tenant: str, at: float) -> builtins.list[Record]:
        """The tenant's records whose deadline is at or before `at` (epoch seconds)."""
        ...

    def page(
        self, provider: str, tenant: str, window: Window = Window.ALL
    ) -> tuple[builtins.list[Record], int]:
        """The page of the tenant's records the window shows, ordered by order key, then by
        insertion (both reversed if `descending`); and how many records of that status there
        are in all."""
        ...

    def tenants(self, provider: str) -> dict[str, int]:
        """Every tenant holding records of this provider, by name, with how many it holds
        (from the index: no record is read)."""
        ...

    def feed_append(self, name: str, entry: Any, capacity: int) -> None:
        """Add an entry at the end of a named feed that keeps its last `capacity` entries."""
        ...

    def feed_read(self, name: str) -> builtins.list[Any]: ...

    def feed_clear(self, name: str) -> int: ...

    def put_value(self, namespace: str, key: str, value: Any, expires: datetime | None) -> None: ...

    def get_value(self, namespace: str, key: str, now: datetime) -> Any: ...

    def claim_value(self, namespace: str, key: str, value: Any, now: datetime) -> Any:
        """Store `value` (without expiry) unless the key holds a live value; either way, return
        what the key holds now. Atomic: of concurrent claims, one wins and all see its value
        (a first secret registered by two workers at once)."""
        ...

    def take_value(self, namespace: str, key: str, now: datetime) -> Any: ...

    def delete_value(self, namespace: str, key: str) -> None: ...

    def collect(self, now: datetime, limit: int = COLLECT_LIMIT) -> int:
        """Delete up to `limit` values whose expiry is at or before `now`, the earliest expiry
        first; how many went. A store whose values expire on their own (Redis) answers 0."""
        ...

    def collect_by(self, horizon: Callable[[], datetime]) -> None:
        """From now on collect, after every COLLECT_EVERY writes of a value with an expiry, what
        has expired at `horizon()`: an instant no clock that reads these values is before."""
        ...

    def read_doc(self, name: str) -> Any: ...

    def write_doc(self, name: str, value: Any) -> None: ...

    def journal_append(self, entry: JsonDict, capacity: int) -> int: ...

    def journal_entries(self) -> builtins.list[JsonDict]: ...

    def journal_clear(self) -> int: ...

    def journal_size(self) -> int: ...

    def fault_add(self, fault: JsonDict) -> JsonDict: ...

    def fault_list(self) -> builtins.list[JsonDict]: ...

    def fault_hit(self, fault_id: int) -> bool: ...

    def fault_remove(self, fault_id: int | None = None) -> int: ...

    def update_doc(self, name: str, change: Callable[[Any], Any]) -> Any:
        """Replace a document by `change(current)` (`current` is None when there is none),
        atomically: of concurrent updates, in any process, none is lost. Returns the new value.
        `change` may run more than once (a store that retries on a conflict)."""
        ...

    def queue_push(self, name: str, entry: Any, due: float) -> int:
        """Add an entry to a named work queue, to be claimed from `due` (epoch seconds) on;
        answers its id."""
        ...

    def queue_claim(
        self, name: str, now: float, lease: float, limit: int = 1
    ) -> builtins.list[tuple[int, Any]]:
        """Up to `limit` entries whose due time is at or before `now`, oldest due first, each
        made due again only at `now + lease`: of concurrent claimers (threads or processes),
        exactly one gets each entry. An entry neither acknowledged nor retried by the end of
        its lease (its claimer died) can be claimed again."""
        ...

    def queue_ack(self, name: str, item_id: int) -> bool:
        """Remove a claimed entry (done with); False if it is no longer there."""
        ...

    def queue_retry(self, name: str, item_id: int, entry: Any, due: float) -> bool:
        """Put a claimed entry back, changed, to be claimed again from `due`; False if gone."""
        ...

    def queue_items(self, name: str) -> builtins.list[tuple[int, float, Any]]:
        """Every entry of the queue, claimed or not: (id, due, entry), by due time."""
        ...

    def clear(self) -> None: ...

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold every other writer, in every process, until the block ends: what a reset
        (clear, then seed) runs in, so two at once cannot interleave. Reentrant."""
        ...

    def count(self) -> int: ...

    def detach(self) -> None:
        """Before a fork: release this process's connections (the store stays usable; each
        process opens its own on first use), so forked workers can share one built app."""
        ...

    def close(self) -> None: ...
