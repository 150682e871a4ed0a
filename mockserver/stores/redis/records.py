"""The Redis store's records and their index: hashes, per-tenant and sorted sets, scripts."""

from __future__ import annotations

import builtins
import json
from typing import Any

from ...jsoncodec import dumps as _dumps
from ...store import JsonDict, KeyFunction, Record, RecordNotFound, VersionConflict, Window, no_keys
from .base import RedisBase, as_int, as_text, glob_escape

__all__ = ["RecordsPart"]


class RecordsPart(RedisBase):
    """Consents: a hash each, indexed by sorted sets, every write one script."""

    def _read(self, provider: str, record_id: str) -> tuple[str, int, str] | None:
        reply = self._redis.hmget(
            self._record_key(provider, record_id), ["tenant", "version", "data"]
        )
        tenant, version, data = (as_text(field) for field in reply)
        if tenant is None or version is None or data is None:
            return None
        return tenant, int(version), data

    def get(self, provider: str, tenant: str, record_id: str) -> Record | None:
        found = self._read(provider, record_id)
        if found is None or found[0] != tenant:
            return None
        return Record(provider, tenant, record_id, found[1], json.loads(found[2]))

    def locate(self, provider: str, record_id: str) -> Record | None:
        found = self._read(provider, record_id)
        if found is None:
            return None
        return Record(provider, found[0], record_id, found[1], json.loads(found[2]))

    def list(self, provider: str, tenant: str) -> builtins.list[Record]:
        flat = self._list(
            keys=[self._tenant_key(provider, tenant)], args=[self._key("rec", provider, "")]
        )
        return self._rows(provider, tenant, flat)

    def _index_args(self, provider: str, tenant: str, record_id: str) -> builtins.list[str]:
        """The ARGV tail every record script takes: id, status key prefix, order and deadline
        sets."""
        return [
            record_id,
            self._key("st", provider, tenant, ""),
            self._key("ord", provider, tenant),
            self._key("dl", provider, tenant),
        ]

    def _keys_of(self, provider: str, data: JsonDict) -> builtins.list[str]:
        status, order, deadline = self._keys.get(provider, no_keys)(data)
        return [status, order, "" if deadline is None else repr(deadline)]

    def _rows(self, provider: str, tenant: str, flat: builtins.list[Any]) -> builtins.list[Record]:
        return [
            Record(provider, tenant, str(flat[i]), int(flat[i + 1]), json.loads(flat[i + 2]))
            for i in range(0, len(flat), 3)
        ]

    def insert(self, provider: str, tenant: str, record_id: str, data: JsonDict) -> Record:
        text = _dumps(data)
        inserted = self._insert(
            keys=[
                self._record_key(provider, record_id),
                self._tenant_key(provider, tenant),
                self._key("seq", "records"),
                self._key("count"),
                self._key("unkeyed", provider),
                self._key("tenants", provider),
            ],
            args=[
                tenant,
                text,
                *self._keys_of(provider, data),
                "" if provider in self._keys else "1",
                *self._index_args(provider, tenant, record_id),
            ],
        )
        if not inserted:
            raise ValueError(f"{provider} record {record_id} already exists")
        return Record(provider, tenant, record_id, 1, json.loads(text))

    def replace(self, record: Record, data: JsonDict) -> Record:
        provider, tenant, record_id = record.provider, record.tenant, record.id
        text = _dumps(data)
        outcome = self._replace(
            keys=[self._record_key(provider, record_id)],
            args=[
                tenant,
                text,
                str(record.version),
                *self._keys_of(provider, data),
                *self._index_args(provider, tenant, record_id),
            ],
        )
        if outcome[0] == 0:
            raise RecordNotFound(record_id)
        if outcome[0] == 1:
            raise VersionConflict(
                Record(provider, tenant, record_id, int(outcome[1]), json.loads(outcome[2]))
            )
        return Record(provider, tenant, record_id, int(outcome[1]), json.loads(text))

    def delete(self, provider: str, tenant: str, record_id: str) -> bool:
        deleted = self._delete(
            keys=[
                self._record_key(provider, record_id),
                self._tenant_key(provider, tenant),
                self._key("count"),
                self._key("unkeyed", provider),
                self._key("tenants", provider),
            ],
            args=[tenant, *self._index_args(provider, tenant, record_id)],
        )
        return bool(deleted)

    # -- the index ------------------------------------------------------------------------------
    def index(self, provider: str, keys: KeyFunction) -> None:
        self._keys[provider] = keys
        self._count_tenants(provider)
        unkeyed = self._key("unkeyed", provider)
        for member in self._redis.smembers(unkeyed):
            record_id = str(member)
            found = self._read(provider, record_id)
            if found is None:
                self._redis.srem(unkeyed, record_id)
                continue
            tenant, _, text = found
            self._rekey(
                keys=[self._record_key(provider, record_id), unkeyed],
                args=[
                    tenant,
                    text,
                    *self._keys_of(provider, json.loads(text)),
                    *self._index_args(provider, tenant, record_id),
                ],
            )

    def _count_tenants(self, provider: str) -> None:
        """Give a store written before the tenants hash existed its hash, once: a SCAN of the
        tenants' sets (a store with the hash, or with no records, needs none); a marker keeps
        later start-ups from scanning again."""
        marker = self._key("tenants-counted", provider)
        if self._redis.exists(marker):
            return
        counted = self._key("tenants", provider)
        if self.count() and not self._redis.exists(counted):
            sets = self._key("ten", provider, "")
            found = [
                str(key)[len(sets) :]
                for key in self._redis.scan_iter(match=glob_escape(sets) + "*", count=1000)
            ]
            if found:
                self._recount_tenants(keys=[counted], args=[sets, *found])
        self._redis.set(marker, "1")

    def tenants(self, provider: str) -> dict[str, int]:
        held = self._redis.hgetall(self._key("tenants", provider))
        return dict(sorted((str(tenant), int(n)) for tenant, n in held.items()))

    def due(self, provider: str, tenant: str, at: float) -> builtins.list[Record]:
        flat = self._due(
            keys=[self._key("dl", provider, tenant)],
            args=[self._key("rec", provider, ""), repr(at)],
        )
        return self._rows(provider, tenant, flat)

    def page(
        self, provider: str, tenant: str, window: Window = Window.ALL
    ) -> tuple[builtins.list[Record], int]:
        entries = (
            self._key("ord", provider, tenant)
            if window.status is None
            else self._key("st", provider, tenant, window.status)
        )
        flat = self._page(
            keys=[entries],
            args=[
                self._key("rec", provider, ""),
                "1" if window.descending else "",
                str(window.offset),
                str(-1 if window.limit is None else window.limit),
            ],
        )
        return self._rows(provider, tenant, flat[1:]), as_int(flat[0])

    def count(self) -> int:
        value = as_text(self._redis.get(self._key("count")))
        return int(value) if value else 0
