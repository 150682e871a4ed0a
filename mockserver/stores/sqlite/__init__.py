"""The SQLite store: every piece of state in one file, shared by worker processes (WAL mode).

The class is put together from its parts: `base` (connections, write transactions, the -gen
file's generations and the caches they validate), `records` (consents and their index),
`state` (feeds, keyed values, documents, work queues, faults) and `journal` (the ring, its
flusher thread and the -gen file's slots); `schema` holds the SQL that creates the tables.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading

from .base import RECORDS, SETTINGS
from .journal import SLOT, SLOTS_AT, JournalPart
from .records import RecordsPart
from .state import StatePart

__all__ = ["RECORDS", "SETTINGS", "SLOT", "SLOTS_AT", "SqliteStore"]


class SqliteStore(RecordsPart, StatePart, JournalPart):
    """Thread- and process-safe: one connection per thread, each write one transaction.

    WAL journaling lets readers run beside a writer; `synchronous=NORMAL` keeps every committed
    transaction through a crash of the server process (SIGKILL included), which is what a
    sandbox needs; only a power loss could drop the last transactions.
    """

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
