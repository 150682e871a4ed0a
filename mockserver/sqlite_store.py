"""The SQLite store: every piece of state in one file, shared by worker processes (WAL mode)."""

from __future__ import annotations

import builtins
import contextlib
import copy
import fcntl
import json
import mmap
import os
import random
import sqlite3
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from .jsoncodec import dumps as _dumps
from .store import (
    JsonDict,
    KeyFunction,
    Record,
    RecordNotFound,
    VersionConflict,
)

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    provider TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL,
    version INTEGER NOT NULL, data TEXT NOT NULL, status TEXT, ord TEXT, deadline REAL,
    PRIMARY KEY (provider, id));
CREATE TABLE IF NOT EXISTS feeds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feeds_by_name ON feeds (name, seq);
CREATE TABLE IF NOT EXISTS kv (
    ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires REAL,
    PRIMARY KEY (ns, key));
CREATE TABLE IF NOT EXISTS docs (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, spec TEXT NOT NULL, hits INTEGER NOT NULL,
    times INTEGER);
"""

# Work queues (queue_push, queue_claim): an entry is claimed by moving its due time to the end
# of its lease, in one write transaction, so exactly one claimer gets it.
_QUEUE_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, due REAL NOT NULL,
    entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS queue_by_due ON queue (name, due, id);
"""

# Made after the columns exist (a file from an earlier version gets them added first).
_INDEXES = """
DROP INDEX IF EXISTS records_by_tenant;
CREATE INDEX IF NOT EXISTS records_by_order ON records (provider, tenant, ord);
CREATE INDEX IF NOT EXISTS records_by_status ON records (provider, tenant, status, ord);
CREATE INDEX IF NOT EXISTS records_by_deadline ON records (provider, tenant, deadline)
    WHERE deadline IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_unkeyed ON records (provider) WHERE ord IS NULL;
CREATE TABLE IF NOT EXISTS counts (
    provider TEXT NOT NULL, tenant TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (provider, tenant, status));
CREATE TRIGGER IF NOT EXISTS counts_insert AFTER INSERT ON records BEGIN
    INSERT INTO counts VALUES (NEW.provider, NEW.tenant, IFNULL(NEW.status, ''), 1)
        ON CONFLICT (provider, tenant, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS counts_delete AFTER DELETE ON records BEGIN
    UPDATE counts SET n = n - 1 WHERE provider = OLD.provider AND tenant = OLD.tenant
        AND status = IFNULL(OLD.status, '');
END;
CREATE TRIGGER IF NOT EXISTS counts_update AFTER UPDATE OF status, tenant ON records
    WHEN IFNULL(OLD.status, '') IS NOT IFNULL(NEW.status, '') OR OLD.tenant IS NOT NEW.tenant
BEGIN
    UPDATE counts SET n = n - 1 WHERE provider = OLD.provider AND tenant = OLD.tenant
        AND status = IFNULL(OLD.status, '');
    INSERT INTO counts VALUES (NEW.provider, NEW.tenant, IFNULL(NEW.status, ''), 1)
        ON CONFLICT (provider, tenant, status) DO UPDATE SET n = n + 1;
END;
"""

# A file from before the counts table: count what it holds once (the triggers keep it after).
_RECOUNT = """
DELETE FROM counts;
INSERT INTO counts SELECT provider, tenant, IFNULL(status, ''), COUNT(*) FROM records
    GROUP BY provider, tenant, IFNULL(status, '');
"""


# Where the two write generations sit in the -gen file (see SqliteStore._write).
RECORDS = 0
SETTINGS = 8
# Records one process keeps between writes of state (see SqliteStore._cached_record).
_RECORD_CACHE = 4096

# The `-gen` file beside the database, mapped shared by every process: the two write
# generations (8 bytes each, at RECORDS and SETTINGS), then from SLOTS_AT one journal slot per
# process that defers journal entries: its pid, the entries it has queued and the entries it
# has written, as int64 counters (see journal_defer).
_GEN_SIZE = 4096
SLOTS_AT = 64
SLOT = struct.Struct("<qqq")
_SLOT_COUNT = (_GEN_SIZE - SLOTS_AT) // SLOT.size
# How long a journal read waits for another process's entries before reading without them.
_SETTLE_TIMEOUT_S = 2.0


def _slot_at(slot: int) -> int:
    """Where a journal slot starts in the -gen file."""
    return SLOTS_AT + slot * SLOT.size


def _alive(pid: int) -> bool:
    """Whether the process runs: a worker that died but was not yet reaped by its parent (a
    zombie) still answers kill(pid, 0), so on Linux its state is read as well."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):  # no /proc (not Linux), or gone since
        return True
    return state not in (b"Z", b"X")


def _lower_priority() -> None:
    """Give this thread (the journal flusher) a lower CPU priority than the request threads:
    on Linux a thread is its own scheduling entity. The flusher's SQLite work then yields the
    CPU to requests on a busy machine; measured on two workers, GET: about 9% more requests/s
    and a p99 1.4 ms lower (eight alternated rounds each). Raising one's nice value needs no
    privilege; where it cannot be done, the thread runs at the process's priority."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


# A PRNG of our own for the generations (see engine._ids for why not the shared one).
_generations = random.Random()
os.register_at_fork(after_in_child=_generations.seed)


class SqliteStore:
    """Thread- and process-safe: one connection per thread, each write one transaction.

    WAL journaling lets readers run beside a writer; `synchronous=NORMAL` keeps every committed
    transaction through a crash of the server process (SIGKILL included), which is what a
    sandbox needs; only a power loss could drop the last transactions.
    """

    def __init__(
        self, path: str | Path, *, busy_timeout_ms: int = 10_000, journal_delay: float = 0.01
    ) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.journal_delay = journal_delay
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock_fds: list[int] = []
        self._guard = threading.Lock()
        # Journal entries waiting for the flusher thread (see journal_defer).
        self._queue: list[tuple[str, int]] = []
        self._queue_lock = threading.Lock()
        self._flush_lock = threading.RLock()  # clear() takes it again inside exclusive()
        self._queued = threading.Event()
        self._flusher: threading.Thread | None = None
        self._flusher_pid = 0
        self._closed = False
        self._keys: dict[str, KeyFunction] = {}
        # The write generation: 8 bytes in a file beside the database, mapped shared by every
        # process. Each committed write of state (all but the journal) stores a fresh random
        # value there after its COMMIT; a read that finds the value it saw before knows no
        # worker has written since, without asking SQLite (see _generation).
        self._gen_map = self._map_generation(self.path + "-gen")
        # The records read since the generation in the pair; one attribute, so that a thread
        # never files a record read under one generation into the cache of another.
        self._records: tuple[bytes, dict[tuple[str, str], Record]] = (b"", {})
        # This process's journal slot in the -gen file, and the entries it has queued.
        self._slot: int | None = None
        self._slot_pid = 0
        self._queued_total = 0
        self._slot_lock = threading.Lock()
        db = self._db()
        db.executescript(_SCHEMA)  # executescript commits on its own
        db.executescript(_QUEUE_SCHEMA)
        counted = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='counts'"
        ).fetchone()
        columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
        # A file written before records had index keys: add the columns; index() fills them.
        with self._write() as writer:
            for column, kind in (("status", "TEXT"), ("ord", "TEXT"), ("deadline", "REAL")):
                if column not in columns:
                    writer.execute(f"ALTER TABLE records ADD COLUMN {column} {kind}")
        db.executescript(_INDEXES)
        if not counted:
            with self._write() as writer:
                for statement in _RECOUNT.split(";"):
                    if statement.strip():
                        writer.execute(statement)

    # -- connections and transactions ------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
            self._local.db = db
            with self._guard:
                self._connections.append(db)
        return db

    @staticmethod
    def _map_generation(path: str) -> mmap.mmap:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < _GEN_SIZE:
                os.ftruncate(fd, _GEN_SIZE)  # zero-filled; two processes doing this agree
            return mmap.mmap(fd, _GEN_SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)  # the mapping keeps the file

    def _generation(self, at: int) -> bytes:
        """A write generation (RECORDS or SETTINGS): equal to an earlier reading only if no
        write of that part of the state was committed in between, by any process."""
        return self._gen_map[at : at + 8]

    def _bump(self, at: int) -> None:
        # After the COMMIT, so a reader that sees the new value reads the new data. Random,
        # not a counter: two processes bumping at once cannot land on a value seen before.
        self._gen_map[at : at + 8] = _generations.getrandbits(64).to_bytes(8, "little")

    @contextmanager
    def _write(
        self, *, moves: tuple[int, ...] = (RECORDS, SETTINGS)
    ) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so it cannot deadlock.
        `moves`: the generations of the caches the write makes stale: RECORDS for consents,
        SETTINGS for the documents (the clock) and faults, none for the journal, values and
        feeds, which no cache holds. A consent written then leaves every worker's cached
        clock and faults in place, and a clock change leaves their cached consents."""
        outer: sqlite3.Connection | None = getattr(self._local, "transaction", None)
        if outer is not None:  # inside exclusive(): part of its one transaction
            yield outer
            return
        db = self._db()
        if SETTINGS in moves:
            self._local.cache = None  # read again, even inside a pinned request
        lock = self._writer_lock()
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        for at in moves:
            self._bump(at)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One write transaction for the whole block (a reset: clear, then seed): other
        processes' readers see the state before it or after it, never half of it, and their
        writers wait on the flock. The journal flusher, which takes the flock under
        `_flush_lock`, is held first, so the two locks are always taken in one order."""
        if getattr(self._local, "transaction", None) is not None:
            yield
            return
        with self._flush_lock:
            try:
                with self._write() as db:
                    self._local.transaction = db
                    try:
                        yield
                    finally:
                        self._local.transaction = None
            finally:
                # Records read inside were uncommitted until now (or rolled back): forget them,
                # and make every process do the same, whatever the outcome.
                self._records = (b"", {})
                self._local.cache = None
                self._bump(RECORDS)
                self._bump(SETTINGS)

    def _writer_lock(self) -> int:
        """This thread's descriptor of the generation file, whose flock queues the writers
        of every process: a writer waits in the kernel and is woken when the lock is free.
        SQLite's own busy handler polls with sleeps that grow to 100 ms, so two workers that
        wrote often (each flushing its journal) left one another waiting for hundreds of
        milliseconds. SQLite's locking still guards the data; this only orders the writers."""
        fd: int | None = getattr(self._local, "lock_fd", None)
        if fd is None:
            fd = os.open(self.path + "-gen", os.O_RDWR | os.O_CREAT, 0o644)
            self._local.lock_fd = fd
            with self._guard:
                self._lock_fds.append(fd)
        return fd

    def _cached(self, key: str, load: Any) -> Any:
        """A read of rarely-changing state (the clock's document, the faults) repeated only
        when some write of state was committed since, by any worker: the generation answers
        that without a query, and every request reads both."""
        cache: dict[str, Any] | None = getattr(self._local, "cache", None)
        if cache is None or not getattr(self._local, "pinned", False):
            generation = self._generation(SETTINGS)
            if cache is None or self._local.version != generation:
                cache = self._local.cache = {}
                self._local.version = generation
        if key not in cache:
            cache[key] = load(self._db())
        return cache[key]

    def _cached_record(
        self, provider: str, record_id: str
    ) -> tuple[dict[tuple[str, str], Record], Record | None]:
        """A record read since the last write of state, if any (records are never changed
        in place: a write stores a new Record), and the cache of the current generation, to
        keep a record read now. The cache starts empty when the generation moves, and again
        at a bound, so it never holds more than a working set. The generation is read before
        any row: a write committed after that moves it, so a row read too early is dropped."""
        generation = self._generation(RECORDS)
        kept_at, kept = self._records
        if generation != kept_at:
            kept = {}
            self._records = (generation, kept)
            return kept, None
        return kept, kept.get((provider, record_id))

    @staticmethod
    def _keep_record(kept: dict[tuple[str, str], Record], record: Record) -> None:
        if len(kept) >= _RECORD_CACHE:
            kept.clear()
        kept[(record.provider, record.id)] = record

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """One request on this thread: the clock and the faults it reads several times are
        checked against the write generation once, on entry (writes of its own still clear
        them). Other workers' changes apply from the next request, as with the clock pin."""
        if getattr(self._local, "pinned", False):
            yield
            return
        self._cached("", lambda db: None)  # check the version now
        self._local.pinned = True
        try:
            yield
        finally:
            self._local.pinned = False

    # -- records --------------------------------------------------------------------------------
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

    def replace(
        self,
        provider: str,
        tenant: str,
        record_id: str,
        data: JsonDict,
        expected_version: int | None = None,
    ) -> Record:
        status, order, deadline = self._keys_of(provider, data)
        with self._write(moves=(RECORDS,)) as db:
            row = db.execute(
                "SELECT version, data FROM records WHERE provider=? AND id=? AND tenant=?",
                (provider, record_id, tenant),
            ).fetchone()
            if row is None or (expected_version is not None and row[0] != expected_version):
                # The caller read a record another write has changed or deleted since: that
                # write may have committed without having moved the generation yet, so the
                # cached copy is dropped here, or a retry would read it again.
                self._records = (b"", {})
            if row is None:
                raise RecordNotFound(record_id)
            if expected_version is not None and row[0] != expected_version:
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
        self,
        provider: str,
        tenant: str,
        *,
        status: str | None = None,
        descending: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[builtins.list[Record], int]:
        where = "provider=? AND tenant=?" + ("" if status is None else " AND status=?")
        args: tuple[Any, ...] = (provider, tenant) if status is None else (provider, tenant, status)
        direction = "DESC" if descending else "ASC"
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
                (*args, -1 if limit is None else limit, offset),
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

    # -- journal --------------------------------------------------------------------------------
    def journal_append(self, entry: JsonDict, capacity: int) -> int:
        with self._write(moves=()) as db:
            cursor = db.execute("INSERT INTO journal (entry) VALUES (?)", (_dumps(entry),))
            entry_id = int(cursor.lastrowid or 0)
            db.execute("DELETE FROM journal WHERE id <= ?", (entry_id - capacity,))
        return entry_id

    def journal_defer(self, entry: JsonDict, capacity: int) -> None:
        """Queue an entry for this process's flusher thread, which writes the queue in one
        transaction about `journal_delay` seconds later. One transaction per request was the
        costliest step of a GET on this store (a commit appends WAL pages, and the workers
        queue for the write lock); batched, an entry costs its INSERT. The price: an entry
        reaches the file up to `journal_delay` (plus scheduling) after its response, and a
        SIGKILL loses at most the entries of that window; consents are never deferred.
        The process's slot in the -gen file counts the entries queued and written, so that a
        journal read in any worker waits for exactly the entries queued before it."""
        slot = None if self._closed else self._journal_slot()
        if slot is None:  # no flusher after close(), or no free slot: write it now
            self.journal_append(entry, capacity)
            return
        text = _dumps(entry)  # here, not in the flusher: see journal_flush
        with self._queue_lock:
            self._queue.append((text, capacity))
            self._queued_total += 1
            self._set_slot(slot, 1, self._queued_total)  # before the response is sent
            first = len(self._queue) == 1
            if self._flusher is None or self._flusher_pid != os.getpid():
                self._flusher_pid = os.getpid()
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="mockserver-journal", daemon=True
                )
                self._flusher.start()
        if first:
            self._queued.set()

    def _flush_loop(self) -> None:
        _lower_priority()
        while True:
            self._queued.wait()
            time.sleep(self.journal_delay)
            if self._closed:  # close() wrote the queue
                return
            try:
                self.journal_flush()
            except sqlite3.Error as exc:  # e.g. locked past busy_timeout: keep them, retry
                if self._closed:
                    return
                sys.stderr.write(f"mockserver: journal flush failed, will retry: {exc}\n")

    def journal_flush(self) -> None:
        """Write the queued entries of this process now, in one transaction."""
        with self._flush_lock:
            with self._queue_lock:
                batch, self._queue = self._queue, []
                upto = self._queued_total
                self._queued.clear()
            if not batch:
                return
            try:
                with self._write(moves=()) as db:
                    # One statement for the batch, its entries already JSON text: the flusher
                    # then holds the GIL for microseconds, not for a batch's encoding or a
                    # step per row, which stalled this worker's requests (p99).
                    db.execute(
                        "INSERT INTO journal (entry) SELECT value FROM json_each(?) ORDER BY key",
                        ("[" + ",".join(text for text, _ in batch) + "]",),
                    )
                    last = int(db.execute("SELECT last_insert_rowid()").fetchone()[0])
                    db.execute("DELETE FROM journal WHERE id <= ?", (last - batch[-1][1],))
                if self._slot is not None and self._slot_pid == os.getpid():
                    self._set_slot(self._slot, 2, upto)  # written (or past the ring's end)
            except sqlite3.Error:
                with self._queue_lock:
                    self._queue[:0] = batch[-batch[-1][1] :]
                    self._queued.set()
                raise

    def _settle_journal(self) -> None:
        """Before a read: this process's queue written, and every entry another process had
        queued by now written by its flusher, so a read made after a response, through any
        worker, sees that response's entry. It waits for those entries only (not for ones
        queued later), for live processes only, and at most _SETTLE_TIMEOUT_S."""
        self.journal_flush()
        own = self._slot if self._slot_pid == os.getpid() else None
        waiting: dict[int, tuple[int, int]] = {}  # slot -> (pid, entries to be written)
        for slot in range(_SLOT_COUNT):
            pid, queued, written = self._read_slot(slot)
            if pid and slot != own and written < queued:
                waiting[slot] = (pid, queued)
        deadline = time.monotonic() + _SETTLE_TIMEOUT_S
        while waiting and time.monotonic() < deadline:
            time.sleep(0.002)
            for slot, (pid, queued) in list(waiting.items()):
                now_pid, _, written = self._read_slot(slot)
                if now_pid != pid or written >= queued or not _alive(pid):
                    del waiting[slot]

    def _journal_slot(self) -> int | None:
        """This process's journal slot, claimed on its first deferred entry (a forked worker
        claims its own); None when all are taken by live processes."""
        pid = os.getpid()
        if self._slot_pid == pid:
            return self._slot
        with self._slot_lock:  # one claim per process, however many threads ask at once
            if self._slot_pid == pid:
                return self._slot
            lock = self._writer_lock()
            fcntl.flock(lock, fcntl.LOCK_EX)  # one claimant at a time, in every process
            try:
                chosen = None
                for slot in range(_SLOT_COUNT):
                    owner = self._read_slot(slot)[0]
                    if owner == 0 or not _alive(owner):
                        chosen = slot
                        SLOT.pack_into(self._gen_map, _slot_at(slot), pid, 0, 0)
                        break
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
            self._slot, self._queued_total = chosen, 0
            self._slot_pid = pid  # last: another thread takes the slot only once it is set
            return chosen

    def _read_slot(self, slot: int) -> tuple[int, int, int]:
        """A slot's pid, entries queued and entries written."""
        pid, queued, written = SLOT.unpack_from(self._gen_map, _slot_at(slot))
        return pid, queued, written

    def _set_slot(self, slot: int, field: int, value: int) -> None:
        """One counter of a slot (1: queued, 2: written); only its owner writes it."""
        at = _slot_at(slot) + 8 * field
        self._gen_map[at : at + 8] = value.to_bytes(8, "little", signed=True)

    def _release_slot(self) -> None:
        if self._slot is not None and self._slot_pid == os.getpid():
            SLOT.pack_into(self._gen_map, _slot_at(self._slot), 0, 0, 0)
        self._slot, self._slot_pid = None, 0

    def journal_entries(self) -> builtins.list[JsonDict]:
        self._settle_journal()
        rows = self._db().execute("SELECT id, entry FROM journal ORDER BY id").fetchall()
        return [{**json.loads(entry), "id": entry_id} for entry_id, entry in rows]

    def journal_clear(self) -> int:
        self._settle_journal()
        with self._write(moves=()) as db:
            return db.execute("DELETE FROM journal").rowcount

    def journal_size(self) -> int:
        self.journal_flush()  # health reads this: no wait for the other workers
        return int(self._db().execute("SELECT COUNT(*) FROM journal").fetchone()[0])

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

    # -- the whole ------------------------------------------------------------------------------
    def clear(self) -> None:
        with self._flush_lock:  # no entry of a request before the reset is written after it
            with self._queue_lock:
                self._queue.clear()
                if self._slot is not None and self._slot_pid == os.getpid():
                    self._set_slot(self._slot, 2, self._queued_total)  # nothing to wait for
            with self._write() as db:
                tables = ("records", "counts", "kv", "docs", "journal", "faults", "feeds", "queue")
                for table in tables:
                    db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def detach(self) -> None:
        """Write this process's journal queue and close its connections; the store stays open
        (a SQLite connection must not be used on both sides of a fork), and each process
        connects again on first use."""
        self.journal_flush()
        self._disconnect()

    def _disconnect(self) -> None:
        """Close every connection and writer-lock descriptor this process opened; threads
        open new ones on their next use."""
        with self._guard:
            for db in self._connections:
                db.close()
            self._connections.clear()
            for fd in self._lock_fds:
                os.close(fd)
            self._lock_fds.clear()
        self._local = threading.local()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.journal_flush()
        self._closed = True
        self._release_slot()
        self._queued.set()  # let the flusher see it
        self._disconnect()
