"""The SQLite store's records and their index (status, order, deadline; counts by triggers)."""

from __future__ import annotations

import builtins
import json
import sqlite3
from typing import Any

from ...jsoncodec import dumps as _dumps
from ...store import JsonDict, KeyFunction, Record, RecordNotFound, VersionConflict, Window
from .base import RECORDS, SqliteBase

__all__ = ["RecordsPart"]


class RecordsPart(SqliteBase):
    """Consents: read through the generation cache, written one transaction each."""

    def get(self, provider: str, tenant: str, record_id: str) -> Record | None:
        record = self.locate(provider, record_id)
        return record if record is not None and record.tenant == tenant else None

    def locate(self, provider: str, record_id: str) -> Record | None:
        kept, cached = self._cached_record(provider, record_id)
        if cached is not None:
            return cached
        row = (
            self._db()
            .execute(
                "SELECT tenant, version, data FROM records WHERE provider=? AND id=?",
                (provider, record_id),
            )
            .fetchone()
        )
        if row is None:
            return None
        record = Record(provider, row[0], record_id, row[1], json.loads(row[2]))
        self._keep_record(kept, record)
        return record

    def list(self, provider: str, tenant: str) -> list[Record]:
        rows = (
            self._db()
            .execute(
                "SELECT id, version, data FROM records"
                " WHERE provider=? AND tenant=? ORDER BY rowid",
                (provider, tenant),
            )
            .fetchall()
        )
        return [Record(provider, tenant, r[0], r[1], json.loads(r[2])) for r in rows]

    def insert(self, provider: str, tenant: str, record_id: str, data: JsonDict) -> Record:
        status, order, deadline = self._keys_of(provider, data)
        try:
            with self._write(moves=(RECORDS,)) as db:
                db.execute(
                    "INSERT INTO records (provider, id, tenant, version, data, status, ord,"
                    " deadline) VALUES (?,?,?,1,?,?,?,?)",
                    (provider, record_id, tenant, _dumps(data), status, order, deadline),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"{provider} record {record_id} already exists") from None
        return Record(provider, tenant, record_id, 1, json.loads(_dumps(data)))

    def replace(self, record: Record, data: JsonDict) -> Record:
        provider, tenant, record_id = record.provider, record.tenant, record.id
        status, order, deadline = self._keys_of(provider, data)
        with self._write(moves=(RECORDS,)) as db:
            row = db.execute(
                "SELECT version, data FROM records WHERE provider=? AND id=? AND tenant=?",
                (provider, record_id, tenant),
            ).fetchone()
            if row is None or row[0] != record.version:
                # The caller read a record another write has changed or deleted since: that
                # write may have committed without having moved the generation yet, so the
                # cached copy is dropped here, or a retry would read it again.
                self._records = (b"", {})
            if row is None:
                raise RecordNotFound(record_id)
            if row[0] != record.version:
                raise VersionConflict(
                    Record(provider, tenant, record_id, row[0], json.loads(row[1]))
                )
            db.execute(
                "UPDATE records SET version=?, data=?, status=?, ord=?, deadline=?"
                " WHERE provider=? AND id=?",
                (row[0] + 1, _dumps(data), status, order, deadline, provider, record_id),
            )
        return Record(provider, tenant, record_id, row[0] + 1, json.loads(_dumps(data)))

    def delete(self, provider: str, tenant: str, record_id: str) -> bool:
        with self._write(moves=(RECORDS,)) as db:
            cursor = db.execute(
                "DELETE FROM records WHERE provider=? AND id=? AND tenant=?",
                (provider, record_id, tenant),
            )
            return cursor.rowcount > 0

    def count(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM records").fetchone()[0])

    # -- the index ------------------------------------------------------------------------------
    def _keys_of(
        self, provider: str, data: JsonDict
    ) -> tuple[str | None, str | None, float | None]:
        """The index keys; none (NULL) before index() was called for the provider, so that
        index() can find the record (through `records_unkeyed`) and key it."""
        keys = self._keys.get(provider)
        return (None, None, None) if keys is None else keys(data)

    def index(self, provider: str, keys: KeyFunction) -> None:
        self._keys[provider] = keys
        db = self._db()
        if not db.execute(
            "SELECT 1 FROM records WHERE provider=? AND ord IS NULL LIMIT 1", (provider,)
        ).fetchone():
            return
        with self._write(moves=(RECORDS,)) as db:
            rows = db.execute(
                "SELECT id, data FROM records WHERE provider=? AND ord IS NULL", (provider,)
            ).fetchall()
            db.executemany(
                "UPDATE records SET status=?, ord=?, deadline=? WHERE provider=? AND id=?",
                [(*keys(json.loads(data)), provider, record_id) for record_id, data in rows],
            )

    def due(self, provider: str, tenant: str, at: float) -> builtins.list[Record]:
        rows = (
            self._db()
            .execute(
                "SELECT id, version, data FROM records WHERE provider=? AND tenant=?"
                " AND deadline IS NOT NULL AND deadline <= ? ORDER BY deadline, id",
                (provider, tenant, at),
            )
            .fetchall()
        )
        return [Record(provider, tenant, r[0], r[1], json.loads(r[2])) for r in rows]

    def page(
        self, provider: str, tenant: str, window: Window = Window.ALL
    ) -> tuple[builtins.list[Record], int]:
        status = window.status
        where = "provider=? AND tenant=?" + ("" if status is None else " AND status=?")
        args: tuple[Any, ...] = (provider, tenant) if status is None else (provider, tenant, status)
        direction = "DESC" if window.descending else "ASC"
        db = self._db()
        db.execute("BEGIN")  # the page and its count from one snapshot
        try:
            # The total from the counts the triggers keep: COUNT(*) over the index cost
            # milliseconds per request once a tenant holds tens of thousands of consents.
            total = int(
                db.execute(
                    f"SELECT IFNULL(SUM(n), 0) FROM counts WHERE {where}",  # noqa: S608
                    args,
                ).fetchone()[0]
            )
            rows = db.execute(
                f"SELECT id, version, data FROM records WHERE {where}"  # noqa: S608
                f" ORDER BY ord {direction}, rowid {direction} LIMIT ? OFFSET ?",
                (*args, -1 if window.limit is None else window.limit, window.offset),
            ).fetchall()
        finally:
            db.execute("COMMIT")
        return [Record(provider, tenant, r[0], r[1], json.loads(r[2])) for r in rows], total

    def tenants(self, provider: str) -> dict[str, int]:
        # From the per-status counts the triggers keep: no scan of the records.
        rows = (
            self._db()
            .execute(
                "SELECT tenant, SUM(n) FROM counts WHERE provider=? GROUP BY tenant"
                " HAVING SUM(n) > 0",
                (provider,),
            )
            .fetchall()
        )
        return dict(sorted((str(tenant), int(n)) for tenant, n in rows))
