"""The Redis store's feeds, keyed values, documents, work queues, journal and faults."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...jsoncodec import dumps as _dumps
from ...store import (
    JsonDict,
)
from .base import RedisBase, as_int, as_text

__all__ = ["TTL_GRACE_SECONDS", "StatePart"]

# A value's Redis TTL is only garbage collection: its expiry in simulated time decides. The
# simulated clock can stand still or lag the wall clock, so the TTL runs this long past the
# expiry measured on the wall clock (and never less than this).
TTL_GRACE_SECONDS = 7 * 24 * 3600


class StatePart(RedisBase):
    """Everything but records: a key or a script each."""

    # -- feeds ----------------------------------------------------------------------------------
    def feed_append(self, name: str, entry: Any, capacity: int) -> None:
        self._feed_append(keys=[self._key("feed", name)], args=[_dumps(entry), str(capacity)])

    def feed_read(self, name: str) -> builtins.list[Any]:
        return [
            json.loads(str(item)) for item in self._redis.lrange(self._key("feed", name), 0, -1)
        ]

    def feed_clear(self, name: str) -> int:
        return as_int(self._feed_clear(keys=[self._key("feed", name)]))

    # -- keyed values ---------------------------------------------------------------------------
    def put_value(self, namespace: str, key: str, value: Any, expires: datetime | None) -> None:
        name = self._key("kv", namespace, key)
        if expires is None:
            self._redis.set(name, _dumps([None, value]))
            return
        self._put_expiring(
            keys=[name],
            args=[
                _dumps([expires.timestamp(), value]),
                str(int(expires.timestamp() * 1000)),
                str(TTL_GRACE_SECONDS * 1000),
            ],
        )

    @staticmethod
    def _live(text: str | None, now: datetime) -> Any:
        if text is None:
            return None
        expires, value = json.loads(text)
        if expires is not None and expires <= now.timestamp():
            return None
        return value

    def get_value(self, namespace: str, key: str, now: datetime) -> Any:
        text = as_text(self._redis.get(self._key("kv", namespace, key)))
        return self._live(text, now)

    def claim_value(self, namespace: str, key: str, value: Any, now: datetime) -> Any:
        held = self._claim(
            keys=[self._key("kv", namespace, key)],
            args=[_dumps([None, value]), repr(now.timestamp())],
        )
        return json.loads(str(held))[1]

    def take_value(self, namespace: str, key: str, now: datetime) -> Any:
        text = as_text(self._redis.getdel(self._key("kv", namespace, key)))
        return self._live(text, now)

    def delete_value(self, namespace: str, key: str) -> None:
        self._redis.delete(self._key("kv", namespace, key))

    # -- documents ------------------------------------------------------------------------------
    def read_doc(self, name: str) -> Any:
        text = as_text(self._redis.get(self._key("doc", name)))
        return None if text is None else json.loads(text)

    def write_doc(self, name: str, value: Any) -> None:
        self._redis.set(self._key("doc", name), _dumps(value))

    def update_doc(self, name: str, change: Callable[[Any], Any]) -> Any:
        key = self._key("doc", name)

        def attempt(pipe: Any) -> Any:  # WATCH key; a write by anyone else makes it run again
            text = as_text(pipe.get(key))
            value = change(None if text is None else json.loads(text))
            pipe.multi()
            pipe.set(key, _dumps(value))
            return value

        return json.loads(_dumps(self._redis.transaction(attempt, key, value_from_callable=True)))

    # -- work queues ----------------------------------------------------------------------------
    def _queue_keys(self, name: str) -> builtins.list[str]:
        return [self._key("q", name), self._key("qe", name)]

    def queue_push(self, name: str, entry: Any, due: float) -> int:
        keys = [*self._queue_keys(name), self._key("seq", "queue")]
        return as_int(self._queue_push(keys=keys, args=[_dumps(entry), repr(due)]))

    def queue_claim(
        self, name: str, now: float, lease: float, limit: int = 1
    ) -> builtins.list[tuple[int, Any]]:
        flat = self._queue_claim(
            keys=self._queue_keys(name), args=[repr(now), repr(now + lease), str(max(limit, 0))]
        )
        return [
            (int(flat[i]), json.loads(str(flat[i + 1])))
            for i in range(0, len(flat), 2)
            if flat[i + 1] is not None
        ]

    def queue_ack(self, name: str, item_id: int) -> bool:
        queue, entries = self._queue_keys(name)
        member = f"{item_id:020d}"
        with self._redis.pipeline() as pipe:  # MULTI/EXEC: both or neither
            pipe.zrem(queue, member)
            pipe.hdel(entries, member)
            removed, _ = pipe.execute()
        return bool(removed)

    def queue_retry(self, name: str, item_id: int, entry: Any, due: float) -> bool:
        args = [f"{item_id:020d}", _dumps(entry), repr(due)]
        return bool(self._queue_retry(keys=self._queue_keys(name), args=args))

    def queue_items(self, name: str) -> builtins.list[tuple[int, float, Any]]:
        queue, entries = self._queue_keys(name)
        reply: Any = self._redis.zrange(queue, 0, -1, withscores=True)
        scored: builtins.list[tuple[Any, Any]] = list(reply)
        texts = self._redis.hmget(entries, [str(m) for m, _ in scored]) if scored else []
        return [
            (int(member), float(due), json.loads(str(text)))
            for (member, due), text in zip(scored, texts, strict=True)
            if text is not None
        ]

    # -- journal --------------------------------------------------------------------------------
    def journal_append(self, entry: JsonDict, capacity: int) -> int:
        entry_id = self._journal_append(
            keys=[self._key("seq", "journal"), self._key("journal")],
            args=[_dumps(entry), str(capacity)],
        )
        return as_int(entry_id)

    def journal_entries(self) -> builtins.list[JsonDict]:
        entries: builtins.list[JsonDict] = []
        for item in self._redis.lrange(self._key("journal"), 0, -1):
            entry_id, _, text = str(item).partition(":")
            entries.append({**json.loads(text), "id": int(entry_id)})
        return entries

    def journal_clear(self) -> int:
        return as_int(self._journal_clear(keys=[self._key("journal")]))

    def journal_size(self) -> int:
        return as_int(self._redis.llen(self._key("journal")))

    # -- faults ---------------------------------------------------------------------------------
    def fault_add(self, fault: JsonDict) -> JsonDict:
        times = fault.get("times")
        fault_id = as_int(
            self._fault_add(
                keys=[self._key("seq", "faults"), self._key("faults")],
                args=[_dumps(fault), "" if times is None else str(int(times))],
            )
        )
        return {**fault, "id": fault_id, "hits": 0}

    def fault_list(self) -> builtins.list[JsonDict]:
        fields = {str(k): str(v) for k, v in self._redis.hgetall(self._key("faults")).items()}
        faults = []
        for field, text in fields.items():
            if field.startswith("s:"):
                fault_id = field.removeprefix("s:")
                hits = int(fields.get(f"h:{fault_id}", 0))
                faults.append({**json.loads(text), "id": int(fault_id), "hits": hits})
        return sorted(faults, key=lambda f: int(f["id"]))

    def fault_hit(self, fault_id: int) -> bool:
        return bool(self._fault_hit(keys=[self._key("faults")], args=[str(fault_id)]))

    def fault_remove(self, fault_id: int | None = None) -> int:
        if fault_id is None:
            return as_int(self._fault_remove_all(keys=[self._key("faults")]))
        fields = (f"s:{fault_id}", f"h:{fault_id}", f"t:{fault_id}")
        return 1 if as_int(self._redis.hdel(self._key("faults"), *fields)) else 0
