"""The memory store: dictionaries guarded by one lock. The default; one process only."""

from __future__ import annotations

import builtins
import heapq
import itertools
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sortedcontainers import SortedList

from ..jsoncodec import copy_json as _copy
from ..jsoncodec import dumps
from ..store import (
    COLLECT_LIMIT,
    IndexKeys,
    JsonDict,
    KeyFunction,
    Record,
    RecordNotFound,
    VersionConflict,
    Window,
    no_keys,
)
from .collect import Collector

__all__ = ["MemoryStore"]


_LAST = chr(0x10FFFF)  # sorts after every id


def _dumps(entry: JsonDict) -> str:
    return dumps(entry, default=str)


@dataclass(slots=True)
class _Held:
    """A value and when it expires. An object the garbage collector always tracks, unlike a
    tuple of text and an instant: the dict of them stays tracked, so it is frozen after a
    full collection (heap.freeze_survivors) instead of being untracked by it and tracked
    again, as new, by the next write, to be walked by every collection after."""

    value: Any
    expires: datetime | None


@dataclass(slots=True)
class _Bucket:
    """The records of one (provider, tenant), with their index: sorted lists of (order,
    insertion number, id) for all and per status, and of (deadline, id) for the records that
    may change."""

    records: dict[str, Record] = field(default_factory=dict)
    keys: dict[str, tuple[IndexKeys, int]] = field(default_factory=dict)
    ordered: SortedList[tuple[str, int, str]] = field(default_factory=SortedList)
    by_status: dict[str, SortedList[tuple[str, int, str]]] = field(default_factory=dict)
    deadlines: SortedList[tuple[float, str]] = field(default_factory=SortedList)

    def add(self, record: Record, keys: IndexKeys, number: int) -> None:
        self.records[record.id] = record
        self.keys[record.id] = (keys, number)
        status, order, deadline = keys
        entry = (order, number, record.id)
        self.ordered.add(entry)
        self.by_status.setdefault(status, SortedList()).add(entry)
        if deadline is not None:
            self.deadlines.add((deadline, record.id))

    def drop(self, record_id: str) -> int:
        """Forget a record; its insertion number is returned, for a re-add."""
        del self.records[record_id]
        (status, order, deadline), number = self.keys.pop(record_id)
        entry = (order, number, record_id)
        self.ordered.remove(entry)
        same = self.by_status[status]
        same.remove(entry)
        if not same:
            del self.by_status[status]
        if deadline is not None:
            self.deadlines.remove((deadline, record_id))
        return number


class MemoryStore:
    """The default store: dictionaries guarded by one lock. Fast; one process only."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._records: dict[tuple[str, str], _Bucket] = {}
        # provider → {record id → tenant}: text only, so the garbage collector never tracks
        # these dicts. Keyed by (provider, id) tuples, the one dict was untracked by each full
        # collection (its tuples had become untracked) and tracked again by the next insert,
        # so it was never frozen (heap.freeze_survivors) and every collection walked all of
        # it: create's p99 grew with the store (4 ms at 30k consents, 30 ms at 370k).
        self._owners: dict[str, dict[str, str]] = {}
        self._keys: dict[str, KeyFunction] = {}
        self._numbers = itertools.count()
        self._values: dict[tuple[str, str], _Held] = {}
        # (expiry, namespace, key) of every value written with an expiry, earliest first: a
        # sweep pops what is due instead of scanning every value. An entry whose value was
        # since rewritten or deleted is skipped when popped (see collect).
        self._expiries: builtins.list[tuple[float, str, str]] = []
        self._collector = Collector()
        self._docs: dict[str, Any] = {}
        self._feeds: dict[str, deque[Any]] = {}
        # Entries as JSON text: a string is invisible to the garbage collector, whereas 10,000
        # entries as dicts made each full collection walk them (~9 ms, a stall every second
        # or so under load, which showed in the p99).
        self._journal: deque[str] = deque()
        self._journal_ids = itertools.count(1)
        self._faults: dict[int, JsonDict] = {}
        self._fault_ids = itertools.count(1)
        self._queues: dict[str, dict[int, tuple[float, Any]]] = {}
        self._queue_ids = itertools.count(1)

    def get(self, provider: str, tenant: str, record_id: str) -> Record | None:
        bucket = self._records.get((provider, tenant))
        return bucket.records.get(record_id) if bucket is not None else None

    def locate(self, provider: str, record_id: str) -> Record | None:
        owners = self._owners.get(provider)
        tenant = None if owners is None else owners.get(record_id)
        return None if tenant is None else self.get(provider, tenant, record_id)

    def list(self, provider: str, tenant: str) -> builtins.list[Record]:
        with self._lock:
            bucket = self._records.get((provider, tenant))
            return [] if bucket is None else list(bucket.records.values())

    def insert(self, provider: str, tenant: str, record_id: str, data: JsonDict) -> Record:
        with self._lock:
            owners = self._owners.get(provider)
            if owners is None:
                owners = self._owners[provider] = {}
            elif record_id in owners:
                raise ValueError(f"{provider} record {record_id} already exists")
            record = Record(provider, tenant, record_id, 1, _copy(data))
            keys = self._keys.get(provider, no_keys)(record.data)
            bucket = self._records.get((provider, tenant))
            if bucket is None:  # not setdefault: a bucket built per insert cost 2 µs a create
                bucket = self._records[(provider, tenant)] = _Bucket()
            bucket.add(record, keys, next(self._numbers))
            owners[record_id] = tenant
            return record

    def replace(self, record: Record, data: JsonDict) -> Record:
        provider, tenant, record_id = record.provider, record.tenant, record.id
        with self._lock:
            current = self.get(provider, tenant, record_id)
            if current is None:
                raise RecordNotFound(record_id)
            if current.version != record.version:
                raise VersionConflict(current)
            written = Record(provider, tenant, record_id, current.version + 1, _copy(data))
            keys = self._keys.get(provider, no_keys)(written.data)
            bucket = self._records[(provider, tenant)]
            if bucket.keys[record_id][0] == keys:
                bucket.records[record_id] = written
            else:
                bucket.add(written, keys, bucket.drop(record_id))
            return written

    def delete(self, provider: str, tenant: str, record_id: str) -> bool:
        with self._lock:
            bucket = self._records.get((provider, tenant))
            if bucket is None or record_id not in bucket.records:
                return False
            bucket.drop(record_id)
            del self._owners[provider][record_id]
            return True

    def index(self, provider: str, keys: KeyFunction) -> None:
        with self._lock:
            self._keys[provider] = keys
            for (owner, _), bucket in self._records.items():
                if owner == provider:
                    for record in list(bucket.records.values()):
                        bucket.add(record, keys(record.data), bucket.drop(record.id))

    def due(self, provider: str, tenant: str, at: float) -> builtins.list[Record]:
        with self._lock:
            bucket = self._records.get((provider, tenant))
            if bucket is None or not bucket.deadlines or bucket.deadlines[0][0] > at:
                return []
            until = bucket.deadlines.bisect_right((at, _LAST))
            return [bucket.records[record_id] for _, record_id in bucket.deadlines[:until]]

    def page(
        self, provider: str, tenant: str, window: Window = Window.ALL
    ) -> tuple[builtins.list[Record], int]:
        with self._lock:
            bucket = self._records.get((provider, tenant))
            if bucket is None:
                return [], 0
            status, offset, limit = window.status, window.offset, window.limit
            entries = bucket.ordered if status is None else bucket.by_status.get(status)
            if not entries:
                return [], 0
            total = len(entries)
            if offset >= total:
                return [], total
            stop = total if limit is None else min(total, offset + limit)
            if window.descending:
                chosen = entries.islice(total - stop, total - offset, reverse=True)
            else:
                chosen = entries.islice(offset, stop)
            return [bucket.records[entry[2]] for entry in chosen], total

    def tenants(self, provider: str) -> dict[str, int]:
        with self._lock:
            held = [
                (tenant, len(bucket.records))
                for (owner, tenant), bucket in self._records.items()
                if owner == provider and bucket.records
            ]
        return dict(sorted(held))

    def feed_append(self, name: str, entry: Any, capacity: int) -> None:
        with self._lock:
            feed = self._feeds.setdefault(name, deque())
            feed.append(_copy(entry))
            while len(feed) > capacity:
                feed.popleft()

    def feed_read(self, name: str) -> builtins.list[Any]:
        with self._lock:
            return [_copy(entry) for entry in self._feeds.get(name, ())]

    def feed_clear(self, name: str) -> int:
        with self._lock:
            return len(self._feeds.pop(name, ()))

    def put_value(self, namespace: str, key: str, value: Any, expires: datetime | None) -> None:
        with self._lock:
            self._values[(namespace, key)] = _Held(_copy(value), expires)
            if expires is None:
                return
            heapq.heappush(self._expiries, (expires.timestamp(), namespace, key))
            if len(self._expiries) > 2 * len(self._values) + COLLECT_LIMIT:
                # Mostly entries of values rewritten or deleted since (or no horizon was ever
                # set): rebuilt from the values, so the heap stays within the values' count.
                held = self._values.items()
                self._expiries = [
                    (h.expires.timestamp(), *at) for at, h in held if h.expires is not None
                ]
                heapq.heapify(self._expiries)
        at = self._collector.due()
        if at is not None:
            self.collect(at)

    def collect(self, now: datetime, limit: int = COLLECT_LIMIT) -> int:
        at, gone = now.timestamp(), 0
        with self._lock:
            heap = self._expiries
            for _ in range(limit):  # the entries popped count, kept or not: bounded work
                if not heap or heap[0][0] > at:
                    break
                _, namespace, key = heapq.heappop(heap)
                held = self._values.get((namespace, key))
                if held is not None and held.expires is not None and held.expires.timestamp() <= at:
                    del self._values[(namespace, key)]
                    gone += 1
        return gone

    def collect_by(self, horizon: Callable[[], datetime]) -> None:
        self._collector.horizon = horizon

    def get_value(self, namespace: str, key: str, now: datetime) -> Any:
        entry = self._values.get((namespace, key))
        if entry is None or (entry.expires is not None and entry.expires <= now):
            return None
        return _copy(entry.value)

    def claim_value(self, namespace: str, key: str, value: Any, now: datetime) -> Any:
        with self._lock:
            current = self.get_value(namespace, key, now)
            if current is not None:
                return current
            self._values[(namespace, key)] = _Held(_copy(value), None)
            return _copy(value)

    def take_value(self, namespace: str, key: str, now: datetime) -> Any:
        with self._lock:
            value = self.get_value(namespace, key, now)
            self._values.pop((namespace, key), None)
            return value

    def delete_value(self, namespace: str, key: str) -> None:
        with self._lock:
            self._values.pop((namespace, key), None)

    def read_doc(self, name: str) -> Any:
        # Not copied: documents are replaced whole by write_doc, never changed in place.
        return self._docs.get(name)

    def write_doc(self, name: str, value: Any) -> None:
        with self._lock:
            self._docs[name] = _copy(value)

    def journal_append(self, entry: JsonDict, capacity: int) -> int:
        with self._lock:
            entry_id = next(self._journal_ids)
            self._journal.append(_dumps({**entry, "id": entry_id}))
            while len(self._journal) > capacity:
                self._journal.popleft()
            return entry_id

    def journal_entries(self) -> builtins.list[JsonDict]:
        with self._lock:  # copying 10k references takes microseconds; parsing them, 100 ms:
            texts = builtins.list(self._journal)  # every request would wait for it
        return [json.loads(text) for text in texts]

    def journal_clear(self) -> int:
        with self._lock:
            count = len(self._journal)
            self._journal.clear()
            return count

    def journal_size(self) -> int:
        return len(self._journal)

    def fault_add(self, fault: JsonDict) -> JsonDict:
        with self._lock:
            stored = {**fault, "id": next(self._fault_ids), "hits": 0}
            self._faults[stored["id"]] = stored
            return dict(stored)

    def fault_list(self) -> builtins.list[JsonDict]:
        if not self._faults:
            return []
        with self._lock:
            return [dict(f) for f in self._faults.values()]

    def fault_hit(self, fault_id: int) -> bool:
        with self._lock:
            fault = self._faults.get(fault_id)
            if fault is None:
                return False
            fault["hits"] += 1
            if fault.get("times") is not None and fault["hits"] >= fault["times"]:
                del self._faults[fault_id]
            return True

    def fault_remove(self, fault_id: int | None = None) -> int:
        with self._lock:
            if fault_id is None:
                count = len(self._faults)
                self._faults.clear()
                return count
            return 1 if self._faults.pop(fault_id, None) is not None else 0

    def update_doc(self, name: str, change: Callable[[Any], Any]) -> Any:
        with self._lock:
            value = _copy(change(_copy(self._docs.get(name))))
            self._docs[name] = value
            return _copy(value)

    def queue_push(self, name: str, entry: Any, due: float) -> int:
        with self._lock:
            item_id = next(self._queue_ids)
            self._queues.setdefault(name, {})[item_id] = (due, _copy(entry))
            return item_id

    def queue_claim(
        self, name: str, now: float, lease: float, limit: int = 1
    ) -> builtins.list[tuple[int, Any]]:
        with self._lock:
            queue = self._queues.get(name, {})
            ready = sorted((due, item_id) for item_id, (due, _) in queue.items() if due <= now)
            claimed = []
            for _, item_id in ready[: max(limit, 0)]:
                entry = queue[item_id][1]
                queue[item_id] = (now + lease, entry)
                claimed.append((item_id, _copy(entry)))
            return claimed

    def queue_ack(self, name: str, item_id: int) -> bool:
        with self._lock:
            return self._queues.get(name, {}).pop(item_id, None) is not None

    def queue_retry(self, name: str, item_id: int, entry: Any, due: float) -> bool:
        with self._lock:
            queue = self._queues.get(name, {})
            if item_id not in queue:
                return False
            queue[item_id] = (due, _copy(entry))
            return True

    def queue_items(self, name: str) -> builtins.list[tuple[int, float, Any]]:
        with self._lock:
            items = self._queues.get(name, {}).items()
            return sorted(((i, due, _copy(e)) for i, (due, e) in items), key=lambda x: (x[1], x[0]))

    def clear(self) -> None:
        """Forget every record, value, document, journal entry and fault."""
        with self._lock:
            self._records.clear()
            self._owners.clear()
            self._values.clear()
            self._expiries.clear()
            self._docs.clear()
            self._feeds.clear()
            self._journal.clear()
            self._faults.clear()
            self._queues.clear()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._lock:  # every write takes it; it is reentrant
            yield

    def count(self) -> int:
        with self._lock:
            return sum(map(len, self._owners.values()))

    def detach(self) -> None:
        """No connections: a forked process gets its own copy of the state."""

    def close(self) -> None:
        """Nothing to release: the memory store lives and dies with its process."""
