"""The SQLite store's feeds, keyed values, documents, work queues and faults."""

from __future__ import annotations

import builtins
import copy
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...jsoncodec import dumps as _dumps
from ...store import COLLECT_LIMIT, JsonDict
from .base import SETTINGS, SqliteBase

__all__ = ["StatePart"]


class StatePart(SqliteBase):
    """Everything but records and the journal: small tables, most written without a cache."""

    # -- feeds ----------------------------------------------------------------------------------
    def feed_append(self, name: str, entry: Any, capacity: int) -> None:
        with self._write(moves=()) as db:
            db.execute("INSERT INTO feeds (name, entry) VALUES (?,?)", (name, _dumps(entry)))
            db.execute(
                "DELETE FROM feeds WHERE name=? AND seq NOT IN"
                " (SELECT seq FROM feeds WHERE name=? ORDER BY seq DESC LIMIT ?)",
                (name, name, max(capacity, 0)),
            )

    def feed_read(self, name: str) -> builtins.list[Any]:
        rows = (
            self._db()
            .execute("SELECT entry FROM feeds WHERE name=? ORDER BY seq", (name,))
            .fetchall()
        )
        return [json.loads(row[0]) for row in rows]

    def feed_clear(self, name: str) -> int:
        with self._write(moves=()) as db:
            return db.execute("DELETE FROM feeds WHERE name=?", (name,)).rowcount

    # -- keyed values ---------------------------------------------------------------------------
    def put_value(self, namespace: str, key: str, value: Any, expires: datetime | None) -> None:
        with self._write(moves=()) as db:
            db.execute(
                "INSERT OR REPLACE INTO kv (ns, key, value, expires) VALUES (?,?,?,?)",
                (namespace, key, _dumps(value), expires.timestamp() if expires else None),
            )
        at = None if expires is None else self._collector.due()
        if at is not None:  # after the COMMIT: a sweep is a transaction of its own
            self.collect(at)

    def collect(self, now: datetime, limit: int = COLLECT_LIMIT) -> int:
        # A read first, as queue_claim does: most sweeps find nothing and take no write lock.
        # Writers queue on the flock, so two workers sweeping at once delete one after the other.
        at = now.timestamp()
        if not self._db().execute("SELECT 1 FROM kv WHERE expires <= ? LIMIT 1", (at,)).fetchone():
            return 0
        with self._write(moves=()) as db:
            return db.execute(
                "DELETE FROM kv WHERE rowid IN"
                " (SELECT rowid FROM kv WHERE expires <= ? ORDER BY expires LIMIT ?)",
                (at, max(limit, 0)),
            ).rowcount

    def collect_by(self, horizon: Callable[[], datetime]) -> None:
        self._collector.horizon = horizon

    def get_value(self, namespace: str, key: str, now: datetime) -> Any:
        row = (
            self._db()
            .execute(
                "SELECT value FROM kv WHERE ns=? AND key=? AND (expires IS NULL OR expires > ?)",
                (namespace, key, now.timestamp()),
            )
            .fetchone()
        )
        return None if row is None else json.loads(row[0])

    def claim_value(self, namespace: str, key: str, value: Any, now: datetime) -> Any:
        with self._write(moves=()) as db:
            row = db.execute(
                "SELECT value FROM kv WHERE ns=? AND key=? AND (expires IS NULL OR expires > ?)",
                (namespace, key, now.timestamp()),
            ).fetchone()
            if row is not None:
                return json.loads(row[0])
            text = _dumps(value)
            db.execute(
                "INSERT OR REPLACE INTO kv (ns, key, value, expires) VALUES (?,?,?,NULL)",
                (namespace, key, text),
            )
        return json.loads(text)

    def take_value(self, namespace: str, key: str, now: datetime) -> Any:
        with self._write(moves=()) as db:
            row = db.execute(
                "DELETE FROM kv WHERE ns=? AND key=? RETURNING value, expires", (namespace, key)
            ).fetchone()
        if row is None or (row[1] is not None and row[1] <= now.timestamp()):
            return None
        return json.loads(row[0])

    def delete_value(self, namespace: str, key: str) -> None:
        with self._write(moves=()) as db:
            db.execute("DELETE FROM kv WHERE ns=? AND key=?", (namespace, key))

    # -- documents ------------------------------------------------------------------------------
    def read_doc(self, name: str) -> Any:
        # Shared, not copied: documents are replaced whole by write_doc, never changed in place.
        def load(db: sqlite3.Connection) -> Any:
            row = db.execute("SELECT value FROM docs WHERE name=?", (name,)).fetchone()
            return None if row is None else json.loads(row[0])

        return self._cached(f"doc:{name}", load)

    def write_doc(self, name: str, value: Any) -> None:
        with self._write(moves=(SETTINGS,)) as db:
            db.execute(
                "INSERT OR REPLACE INTO docs (name, value) VALUES (?,?)", (name, _dumps(value))
            )

    def update_doc(self, name: str, change: Callable[[Any], Any]) -> Any:
        with self._write(moves=(SETTINGS,)) as db:
            row = db.execute("SELECT value FROM docs WHERE name=?", (name,)).fetchone()
            text = _dumps(change(None if row is None else json.loads(row[0])))
            db.execute("INSERT OR REPLACE INTO docs (name, value) VALUES (?,?)", (name, text))
        return json.loads(text)

    # -- work queues ----------------------------------------------------------------------------
    def queue_push(self, name: str, entry: Any, due: float) -> int:
        with self._write(moves=()) as db:
            cursor = db.execute(
                "INSERT INTO queue (name, due, entry) VALUES (?,?,?)", (name, due, _dumps(entry))
            )
            return int(cursor.lastrowid or 0)

    def queue_claim(
        self, name: str, now: float, lease: float, limit: int = 1
    ) -> builtins.list[tuple[int, Any]]:
        # A read first: an idle poller (every worker's delivery thread) takes no write lock.
        probe = "SELECT id FROM queue WHERE name=? AND due<=? ORDER BY due, id LIMIT ?"
        if not self._db().execute(probe, (name, now, limit)).fetchone():
            return []
        with self._write(moves=()) as db:
            ids = [row[0] for row in db.execute(probe, (name, now, limit))]
            claimed = []
            for item_id in ids:
                row = db.execute(
                    "UPDATE queue SET due=? WHERE id=? RETURNING entry", (now + lease, item_id)
                ).fetchone()
                claimed.append((int(item_id), json.loads(row[0])))
        return claimed

    def queue_ack(self, name: str, item_id: int) -> bool:
        with self._write(moves=()) as db:
            deleted = db.execute("DELETE FROM queue WHERE name=? AND id=?", (name, item_id))
            return deleted.rowcount > 0

    def queue_retry(self, name: str, item_id: int, entry: Any, due: float) -> bool:
        with self._write(moves=()) as db:
            changed = db.execute(
                "UPDATE queue SET due=?, entry=? WHERE name=? AND id=?",
                (due, _dumps(entry), name, item_id),
            )
            return changed.rowcount > 0

    def queue_items(self, name: str) -> builtins.list[tuple[int, float, Any]]:
        rows = self._db().execute(
            "SELECT id, due, entry FROM queue WHERE name=? ORDER BY due, id", (name,)
        )
        return [(int(i), float(due), json.loads(entry)) for i, due, entry in rows]

    # -- faults ---------------------------------------------------------------------------------
    def fault_add(self, fault: JsonDict) -> JsonDict:
        with self._write(moves=(SETTINGS,)) as db:
            cursor = db.execute(
                "INSERT INTO faults (spec, hits, times) VALUES (?,0,?)",
                (_dumps(fault), fault.get("times")),
            )
            fault_id = int(cursor.lastrowid or 0)
        return {**fault, "id": fault_id, "hits": 0}

    def fault_list(self) -> builtins.list[JsonDict]:
        def load(db: sqlite3.Connection) -> builtins.list[JsonDict]:
            rows = db.execute("SELECT id, spec, hits FROM faults ORDER BY id").fetchall()
            return [{**json.loads(spec), "id": i, "hits": hits} for i, spec, hits in rows]

        faults: builtins.list[JsonDict] = self._cached("faults", load)
        return copy.deepcopy(faults) if faults else []

    def fault_hit(self, fault_id: int) -> bool:
        with self._write(moves=(SETTINGS,)) as db:
            row = db.execute(
                "UPDATE faults SET hits = hits + 1 WHERE id=? RETURNING hits, times", (fault_id,)
            ).fetchone()
            if row is None:
                return False
            if row[1] is not None and row[0] >= row[1]:
                db.execute("DELETE FROM faults WHERE id=?", (fault_id,))
            return True

    def fault_remove(self, fault_id: int | None = None) -> int:
        with self._write(moves=(SETTINGS,)) as db:
            if fault_id is None:
                return db.execute("DELETE FROM faults").rowcount
            return db.execute("DELETE FROM faults WHERE id=?", (fault_id,)).rowcount
