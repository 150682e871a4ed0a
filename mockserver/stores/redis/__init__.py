"""The Redis store: every piece of state in one Redis database, shared by workers on many hosts.

Needs the optional `redis` package (`pip install 'consent-mockserver[redis]'`) and Redis 6.2 or
later. Every key starts with the store's prefix (default `mockserver:<db>`), so `clear()` removes
this store's keys and nothing else in the database. Keys, below the prefix:

    rec:<provider>:<id>        hash {tenant, version, data, st, ord, dl, seq}; ids are unique
                               per provider; st, ord, dl: the index keys (status, order,
                               deadline); seq: its insertion number
    ten:<provider>:<tenant>    sorted set of ids, scored by insertion order
    ord:<provider>:<tenant>    sorted set of "<ord>\\0<seq>\\0<id>", all scored 0 (lexical order)
    st:<provider>:<tenant>:<status>   the same, for the records with that status
    dl:<provider>:<tenant>     sorted set of ids scored by deadline (epoch seconds)
    unkeyed:<provider>         set of ids written before index() was called for the provider
    feed:<name>                list of JSON entries
    count                      how many records there are
    kv:<namespace>:<key>       JSON [expires (epoch seconds) or null, value]
    doc:<name>                 JSON document
    journal                    list of "<id>:<JSON entry>", trimmed to the capacity
    faults                     hash: s:<id> the JSON spec, h:<id> hits, t:<id> times (if any)
    q:<name>                   sorted set of a work queue's entry ids (zero-padded), scored by
                               due time; a claim moves the score to the end of the lease
    qe:<name>                  hash: entry id -> JSON entry
    seq:records|journal|faults|queue   counters; kept by clear(), so ids never repeat

Every conditional write is one Lua script, which Redis runs atomically.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from ...store import COLLECT_LIMIT
from .base import glob_escape
from .records import RecordsPart
from .state import TTL_GRACE_SECONDS, StatePart

__all__ = ["TTL_GRACE_SECONDS", "RedisStore"]

# Delete the lock only if it is still ours (it may have expired and been taken by another).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXCLUSIVE_WAIT = 60.0  # seconds: far beyond a reset with the default fixtures


class RedisStore(RecordsPart, StatePart):
    """Thread- and process-safe (one connection pool per process; Redis runs each script whole).

    `url` is `redis://[:PASSWORD@]HOST:PORT/DB` (or `rediss://` for TLS). `prefix` starts every
    key; by default `mockserver:<DB>`. Stores with different prefixes can share a database.
    """

    def clear(self) -> None:
        """Forget every record, value, document, journal entry and fault under this prefix.

        The id counters stay, so journal and fault ids keep growing (as in the other stores).
        """
        self._clear(
            keys=[],
            args=[glob_escape(self.prefix) + ":*", self._key("seq", "")],
        )

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """A lock key beside the prefix (which clear() empties) held for the block, so two
        resets, from any process or host, run one after the other. Redis has no transaction
        that reads between its writes, so readers may see a reset half done."""
        depth = getattr(self._local, "exclusive", 0)
        if depth:
            self._local.exclusive = depth + 1
            try:
                yield
            finally:
                self._local.exclusive = depth
            return
        key, token = f"{self.prefix}!exclusive", uuid.uuid4().hex
        deadline = time.monotonic() + _EXCLUSIVE_WAIT
        # The expiry frees the lock of a process that died holding it.
        while not self._redis.set(key, token, nx=True, px=int(_EXCLUSIVE_WAIT * 1000)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{key} was held for over {_EXCLUSIVE_WAIT:.0f} s")
            time.sleep(0.005)
        self._local.exclusive = 1
        try:
            yield
        finally:
            self._local.exclusive = 0
            self._redis.eval(_RELEASE, 1, key, token)

    def collect(self, now: datetime, limit: int = COLLECT_LIMIT) -> int:
        """Nothing to do: a value with an expiry is written with a Redis TTL (see put_value),
        and Redis deletes it itself."""
        return 0

    def collect_by(self, horizon: Callable[[], datetime]) -> None:
        """Not needed: Redis expires values by their TTL."""

    def detach(self) -> None:
        """Drop this process's pooled connections; each process connects again on first use."""
        self._redis.connection_pool.disconnect()

    def close(self) -> None:
        self._redis.close()
