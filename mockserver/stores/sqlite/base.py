"""The SQLite store's connections, write transactions and the caches the -gen file validates."""

from __future__ import annotations

import fcntl
import mmap
import os
import random
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...store import KeyFunction, Record
from ..collect import Collector
from .schema import INDEXES, QUEUE_SCHEMA, RECOUNT, SCHEMA

__all__ = ["RECORDS", "SETTINGS", "SqliteBase"]

# Where the two write generations sit in the -gen file (see SqliteBase._write).
RECORDS = 0
SETTINGS = 8
# Records one process keeps between writes of state (see SqliteBase._cached_record).
_RECORD_CACHE = 4096

# The `-gen` file beside the database, mapped shared by every process: the two write
# generations (8 bytes each, at RECORDS and SETTINGS), then from SLOTS_AT one journal slot per
# process that defers journal entries: its pid, the entries it has queued and the entries it
# has written, as int64 counters (see journal_defer).
GEN_SIZE = 4096

# A PRNG of our own for the generations (see engine.exchange._ids for why not the shared one).
_generations = random.Random()
os.register_at_fork(after_in_child=_generations.seed)


class SqliteBase:
    """What every part of `SqliteStore` builds on: the schema, one connection per thread, one
    transaction per write (queued by the -gen file's flock), and the caches of records, the
    clock's document and the faults that the write generations keep valid across processes."""

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
        self._collector = Collector()  # when put_value collects expired values
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
        db.executescript(SCHEMA)  # executescript commits on its own
        db.executescript(QUEUE_SCHEMA)
        counted = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='counts'"
        ).fetchone()
        columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
        # A file written before records had index keys: add the columns; index() fills them.
        with self._write() as writer:
            for column, kind in (("status", "TEXT"), ("ord", "TEXT"), ("deadline", "REAL")):
                if column not in columns:
                    writer.execute(f"ALTER TABLE records ADD COLUMN {column} {kind}")
        db.executescript(INDEXES)
        if not counted:
            with self._write() as writer:
                for statement in RECOUNT.split(";"):
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
            if os.fstat(fd).st_size < GEN_SIZE:
                os.ftruncate(fd, GEN_SIZE)  # zero-filled; two processes doing this agree
            return mmap.mmap(fd, GEN_SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
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
