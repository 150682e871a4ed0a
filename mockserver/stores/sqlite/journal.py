"""The SQLite store's journal: entries deferred to a flusher thread, and the -gen file's slots."""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import json
import os
import sqlite3
import struct
import sys
import threading
import time

from ...jsoncodec import dumps as _dumps
from ...store import JsonDict
from .base import GEN_SIZE, SqliteBase

__all__ = ["SLOT", "SLOTS_AT", "JournalPart"]


# After the two write generations of the `-gen` file (see base), from SLOTS_AT: one journal slot
# per process that defers journal entries: its pid, the entries it has queued and the entries
# it has written, as int64 counters (see journal_defer).
SLOTS_AT = 64
SLOT = struct.Struct("<qqq")
_SLOT_COUNT = (GEN_SIZE - SLOTS_AT) // SLOT.size
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
            # Relative to the process's own nice value: a fixed 10 would *raise* the flusher
            # above the request threads of a server started under `nice -n 19`.
            me = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, me, min(os.getpriority(os.PRIO_PROCESS, me) + 10, 19))


class JournalPart(SqliteBase):
    """The journal ring: appended at once or deferred to this process's flusher thread."""

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
