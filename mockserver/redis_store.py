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

import builtins
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .jsoncodec import dumps as _dumps
from .store import (
    JsonDict,
    KeyFunction,
    Record,
    RecordNotFound,
    VersionConflict,
    no_keys,
)

if TYPE_CHECKING:
    import redis

__all__ = ["RedisStore"]

# A value's Redis TTL is only garbage collection: its expiry in simulated time decides. The
# simulated clock can stand still or lag the wall clock, so the TTL runs this long past the
# expiry measured on the wall clock (and never less than this).
TTL_GRACE_SECONDS = 7 * 24 * 3600

# The records of some ids, flattened after what `out` holds: id, version, data for each.
_ROWS = """
local function rows(ids, prefix, out)
  for _, id in ipairs(ids) do
    local row = redis.call('HMGET', prefix .. id, 'version', 'data')
    if row[1] then
      out[#out + 1] = id
      out[#out + 1] = row[1]
      out[#out + 1] = row[2]
    end
  end
  return out
end
"""

# Index upkeep shared by the record scripts. An index member is "<ord>\0<seq>\0<id>", with
# seq the record's insertion number (zero-padded), so ties of ord keep the insertion order. The
# caller's last four ARGV are: id, the status key prefix, the order set, the deadline set. `old`
# is the hash's {st, ord} before the write (false: none), `new` the {st, ord, dl} to index by.
_INDEX = """
local function member(ord, seq, id)
  return (ord or '') .. '\\0' .. string.format('%020d', tonumber(seq)) .. '\\0' .. id
end
local function reindex(id, seq, st_prefix, ord_key, dl_key, old, new)
  if old then
    local gone = member(old[2], seq, id)
    redis.call('ZREM', ord_key, gone)
    redis.call('ZREM', st_prefix .. (old[1] or ''), gone)
  end
  if new then
    local added = member(new[2], seq, id)
    redis.call('ZADD', ord_key, 0, added)
    redis.call('ZADD', st_prefix .. new[1], 0, added)
    if new[3] == '' then redis.call('ZREM', dl_key, id)
    else redis.call('ZADD', dl_key, new[3], id) end
  else
    redis.call('ZREM', dl_key, id)
  end
end
"""

# KEYS: the record, the tenant's set, the seq counter, the count, the unkeyed set, the
# provider's tenants hash (tenant -> records held).
# ARGV: tenant, data, st, ord, dl, unkeyed ('1' or ''), id, st_prefix, ord_key, dl_key
_INSERT = (
    _INDEX
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'tenant', ARGV[1], 'version', 1, 'data', ARGV[2],
           'st', ARGV[3], 'ord', ARGV[4], 'dl', ARGV[5], 'seq', seq)
redis.call('ZADD', KEYS[2], seq, ARGV[7])
redis.call('INCR', KEYS[4])
if ARGV[6] ~= '' then redis.call('SADD', KEYS[5], ARGV[7]) end
redis.call('HINCRBY', KEYS[6], ARGV[1], 1)
reindex(ARGV[7], seq, ARGV[8], ARGV[9], ARGV[10], false, {ARGV[3], ARGV[4], ARGV[5]})
return 1
"""
)

# ARGV: tenant, data, expected version or '', st, ord, dl, id, st_prefix, ord_key, dl_key
_REPLACE = (
    _INDEX
    + """
local current = redis.call('HMGET', KEYS[1], 'tenant', 'version', 'data', 'st', 'ord', 'seq')
if current[1] ~= ARGV[1] then return {0} end
local version = tonumber(current[2])
if ARGV[3] ~= '' and version ~= tonumber(ARGV[3]) then return {1, version, current[3]} end
redis.call('HSET', KEYS[1], 'version', version + 1, 'data', ARGV[2],
           'st', ARGV[4], 'ord', ARGV[5], 'dl', ARGV[6])
reindex(ARGV[7], current[6], ARGV[8], ARGV[9], ARGV[10], {current[4], current[5]},
        {ARGV[4], ARGV[5], ARGV[6]})
return {2, version + 1}
"""
)

# KEYS: the record, the tenant's set, the count, the unkeyed set, the tenants hash.
# ARGV: tenant, id, st_prefix, ord_key, dl_key
_DELETE = (
    _INDEX
    + """
local current = redis.call('HMGET', KEYS[1], 'tenant', 'st', 'ord', 'seq')
if current[1] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('DECR', KEYS[3])
redis.call('SREM', KEYS[4], ARGV[2])
if redis.call('HINCRBY', KEYS[5], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[5], ARGV[1]) end
reindex(ARGV[2], current[4], ARGV[3], ARGV[4], ARGV[5], {current[2], current[3]}, false)
return 1
"""
)

# Re-key one record written before index(): KEYS[1] its hash, KEYS[2] the unkeyed set.
# ARGV: tenant, data it was keyed from, st, ord, dl, id, st_prefix, ord_key, dl_key
_REKEY = (
    _INDEX
    + """
redis.call('SREM', KEYS[2], ARGV[6])
local current = redis.call('HMGET', KEYS[1], 'tenant', 'data', 'st', 'ord', 'seq')
if current[1] ~= ARGV[1] or current[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'st', ARGV[3], 'ord', ARGV[4], 'dl', ARGV[5])
reindex(ARGV[6], current[5], ARGV[7], ARGV[8], ARGV[9], {current[3], current[4]},
        {ARGV[3], ARGV[4], ARGV[5]})
return 1
"""
)

# KEYS[1]: the order or status set. ARGV: record key prefix, descending ('1' or ''), offset,
# limit (-1: all). Returns the total, then id, version, data for each record of the page.
_PAGE = (
    _ROWS
    + """
local total = redis.call('ZCARD', KEYS[1])
local offset, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local stop = -1
if limit >= 0 then stop = offset + limit - 1 end
local members
if limit == 0 then members = {}
elseif ARGV[2] == '1' then members = redis.call('ZREVRANGE', KEYS[1], offset, stop)
else members = redis.call('ZRANGE', KEYS[1], offset, stop) end
local ids = {}
for _, member in ipairs(members) do
  local after_ord = string.find(member, '\\0', 1, true)
  ids[#ids + 1] = string.sub(member, string.find(member, '\\0', after_ord + 1, true) + 1)
end
return rows(ids, ARGV[1], {total})
"""
)

# KEYS[1]: the deadline set. ARGV: record key prefix, the instant (epoch seconds).
_DUE = _ROWS + "return rows(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2]), ARGV[1], {})"

_FEED_APPEND = """
redis.call('RPUSH', KEYS[1], ARGV[1])
local capacity = tonumber(ARGV[2])
if capacity < 1 then redis.call('DEL', KEYS[1]) else redis.call('LTRIM', KEYS[1], -capacity, -1) end
return 1
"""

# Delete the lock only if it is still ours (it may have expired and been taken by another).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXCLUSIVE_WAIT = 60.0  # seconds: far beyond a reset with the default fixtures

_FEED_CLEAR = """
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return n
"""

# The tenants hash of a store written before it existed, from the tenants' sets (the truth):
# KEYS[1] the hash; ARGV: the tenant set key prefix, then the tenants found by a SCAN.
_RECOUNT_TENANTS = """
for i = 2, #ARGV do
  local n = redis.call('ZCARD', ARGV[1] .. ARGV[i])
  if n > 0 then redis.call('HSET', KEYS[1], ARGV[i], n)
  else redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 1
"""

_LIST = _ROWS + "return rows(redis.call('ZRANGE', KEYS[1], 0, -1), ARGV[1], {})"

# The TTL is measured on the Redis server's clock, the one clock every worker shares.
_PUT_EXPIRING = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = math.max(tonumber(ARGV[2]) - now_ms, 0) + tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', math.floor(ttl))
return 1
"""

# KEYS[1]: the value's key. ARGV: the JSON [null, value] to store, the simulated now (epoch s).
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if current then
  local expires = cjson.decode(current)[1]
  if expires == cjson.null or expires > tonumber(ARGV[2]) then return current end
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
"""

_JOURNAL_APPEND = """
local id = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], id .. ':' .. ARGV[1])
local capacity = tonumber(ARGV[2])
if capacity < 1 then redis.call('DEL', KEYS[2]) else redis.call('LTRIM', KEYS[2], -capacity, -1) end
return id
"""

_JOURNAL_CLEAR = """
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return n
"""

_FAULT_ADD = """
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], 's:' .. id, ARGV[1], 'h:' .. id, 0)
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], 't:' .. id, ARGV[2]) end
return id
"""

_FAULT_HIT = """
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], 's:' .. id) == 0 then return 0 end
local hits = redis.call('HINCRBY', KEYS[1], 'h:' .. id, 1)
local times = redis.call('HGET', KEYS[1], 't:' .. id)
if times and hits >= tonumber(times) then
  redis.call('HDEL', KEYS[1], 's:' .. id, 'h:' .. id, 't:' .. id)
end
return 1
"""

_FAULT_REMOVE_ALL = """
local n = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 's:' then n = n + 1 end
end
redis.call('DEL', KEYS[1])
return n
"""

# KEYS: the queue's set, its entries, the id counter. ARGV: the JSON entry, the due time.
_QUEUE_PUSH = """
local id = redis.call('INCR', KEYS[3])
local member = string.format('%020d', id)
redis.call('HSET', KEYS[2], member, ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], member)
return id
"""

# KEYS: the queue's set, its entries. ARGV: now, the end of the lease, the limit.
_QUEUE_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, member in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
  out[#out + 1] = member
  out[#out + 1] = redis.call('HGET', KEYS[2], member)
end
return out
"""

# KEYS: the queue's set, its entries. ARGV: member, the JSON entry, the due time.
_QUEUE_RETRY = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

# One script, so a concurrent insert cannot leave a record behind with the count gone.
_CLEAR = """
local cursor = '0'
local removed = 0
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    if string.sub(key, 1, #ARGV[2]) ~= ARGV[2] then
      redis.call('UNLINK', key)
      removed = removed + 1
    end
  end
until cursor == '0'
return removed
"""


def _part(text: str) -> str:
    """A key component that is followed by another: `:` cannot occur in it, so keys never clash."""
    return text.replace("%", "%25").replace(":", "%3A")


def _int(reply: Any) -> int:
    """Replies typed loosely by redis-py (it depends on its version): one conversion each."""
    return int(reply)


def _text(reply: Any) -> str | None:
    return None if reply is None else str(reply)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _client(url: str) -> redis.Redis:
    try:
        import redis
    except ImportError:
        raise ImportError(
            "the redis store needs the redis package: pip install 'consent-mockserver[redis]'"
        ) from None
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5)


class RedisStore:
    """Thread- and process-safe (one connection pool per process; Redis runs each script whole).

    `url` is `redis://[:PASSWORD@]HOST:PORT/DB` (or `rediss://` for TLS). `prefix` starts every
    key; by default `mockserver:<DB>`. Stores with different prefixes can share a database.
    """

    def __init__(self, url: str, *, prefix: str | None = None) -> None:
        self._redis = _client(url)
        self._local = threading.local()
        options = self._redis.connection_pool.connection_kwargs
        db = int(options.get("db", 0) or 0)
        where = f"{options.get('host', 'localhost')}:{options.get('port', 6379)}/{db}"
        self.prefix = prefix if prefix is not None else f"mockserver:{db}"
        import redis

        try:
            self._redis.ping()
        except redis.RedisError as exc:
            self._redis.close()
            raise ConnectionError(f"redis store at {where} does not answer: {exc}") from None
        script = self._redis.register_script
        self._insert = script(_INSERT)
        self._replace = script(_REPLACE)
        self._delete = script(_DELETE)
        self._rekey = script(_REKEY)
        self._page = script(_PAGE)
        self._due = script(_DUE)
        self._feed_append = script(_FEED_APPEND)
        self._feed_clear = script(_FEED_CLEAR)
        self._keys: dict[str, KeyFunction] = {}
        self._list = script(_LIST)
        self._recount_tenants = script(_RECOUNT_TENANTS)
        self._put_expiring = script(_PUT_EXPIRING)
        self._claim = script(_CLAIM)
        self._journal_append = script(_JOURNAL_APPEND)
        self._journal_clear = script(_JOURNAL_CLEAR)
        self._fault_add = script(_FAULT_ADD)
        self._fault_hit = script(_FAULT_HIT)
        self._fault_remove_all = script(_FAULT_REMOVE_ALL)
        self._clear = script(_CLEAR)
        self._queue_push = script(_QUEUE_PUSH)
        self._queue_claim = script(_QUEUE_CLAIM)
        self._queue_retry = script(_QUEUE_RETRY)

    # -- keys -----------------------------------------------------------------------------------
    def _key(self, *parts: str) -> str:
        """The prefix, then every part but the last escaped, then the last one as it is."""
        return ":".join([self.prefix, *(_part(p) for p in parts[:-1]), parts[-1]])

    def _record_key(self, provider: str, record_id: str) -> str:
        return self._key("rec", provider, record_id)

    def _tenant_key(self, provider: str, tenant: str) -> str:
        return self._key("ten", provider, tenant)

    # -- records --------------------------------------------------------------------------------
    def _read(self, provider: str, record_id: str) -> tuple[str, int, str] | None:
        reply = self._redis.hmget(
            self._record_key(provider, record_id), ["tenant", "version", "data"]
        )
        tenant, version, data = (_text(field) for field in reply)
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

    def replace(
        self,
        provider: str,
        tenant: str,
        record_id: str,
        data: JsonDict,
        expected_version: int | None = None,
    ) -> Record:
        text = _dumps(data)
        outcome = self._replace(
            keys=[self._record_key(provider, record_id)],
            args=[
                tenant,
                text,
                "" if expected_version is None else str(expected_version),
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
                for key in self._redis.scan_iter(match=_glob_escape(sets) + "*", count=1000)
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
        self,
        provider: str,
        tenant: str,
        *,
        status: str | None = None,
        descending: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[builtins.list[Record], int]:
        entries = (
            self._key("ord", provider, tenant)
            if status is None
            else self._key("st", provider, tenant, status)
        )
        flat = self._page(
            keys=[entries],
            args=[
                self._key("rec", provider, ""),
                "1" if descending else "",
                str(offset),
                str(-1 if limit is None else limit),
            ],
        )
        return self._rows(provider, tenant, flat[1:]), _int(flat[0])

    # -- feeds ----------------------------------------------------------------------------------
    def feed_append(self, name: str, entry: Any, capacity: int) -> None:
        self._feed_append(keys=[self._key("feed", name)], args=[_dumps(entry), str(capacity)])

    def feed_read(self, name: str) -> builtins.list[Any]:
        return [
            json.loads(str(item)) for item in self._redis.lrange(self._key("feed", name), 0, -1)
        ]

    def feed_clear(self, name: str) -> int:
        return _int(self._feed_clear(keys=[self._key("feed", name)]))

    def count(self) -> int:
        value = _text(self._redis.get(self._key("count")))
        return int(value) if value else 0

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
        text = _text(self._redis.get(self._key("kv", namespace, key)))
        return self._live(text, now)

    def claim_value(self, namespace: str, key: str, value: Any, now: datetime) -> Any:
        held = self._claim(
            keys=[self._key("kv", namespace, key)],
            args=[_dumps([None, value]), repr(now.timestamp())],
        )
        return json.loads(str(held))[1]

    def take_value(self, namespace: str, key: str, now: datetime) -> Any:
        text = _text(self._redis.getdel(self._key("kv", namespace, key)))
        return self._live(text, now)

    def delete_value(self, namespace: str, key: str) -> None:
        self._redis.delete(self._key("kv", namespace, key))

    # -- documents ------------------------------------------------------------------------------
    def read_doc(self, name: str) -> Any:
        text = _text(self._redis.get(self._key("doc", name)))
        return None if text is None else json.loads(text)

    def write_doc(self, name: str, value: Any) -> None:
        self._redis.set(self._key("doc", name), _dumps(value))

    def update_doc(self, name: str, change: Callable[[Any], Any]) -> Any:
        key = self._key("doc", name)

        def attempt(pipe: Any) -> Any:  # WATCH key; a write by anyone else makes it run again
            text = _text(pipe.get(key))
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
        return _int(self._queue_push(keys=keys, args=[_dumps(entry), repr(due)]))

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
        return _int(entry_id)

    def journal_entries(self) -> builtins.list[JsonDict]:
        entries: builtins.list[JsonDict] = []
        for item in self._redis.lrange(self._key("journal"), 0, -1):
            entry_id, _, text = str(item).partition(":")
            entries.append({**json.loads(text), "id": int(entry_id)})
        return entries

    def journal_clear(self) -> int:
        return _int(self._journal_clear(keys=[self._key("journal")]))

    def journal_size(self) -> int:
        return _int(self._redis.llen(self._key("journal")))

    # -- faults ---------------------------------------------------------------------------------
    def fault_add(self, fault: JsonDict) -> JsonDict:
        times = fault.get("times")
        fault_id = _int(
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
            return _int(self._fault_remove_all(keys=[self._key("faults")]))
        fields = (f"s:{fault_id}", f"h:{fault_id}", f"t:{fault_id}")
        return 1 if _int(self._redis.hdel(self._key("faults"), *fields)) else 0

    # -- the whole ------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget every record, value, document, journal entry and fault under this prefix.

        The id counters stay, so journal and fault ids keep growing (as in the other stores).
        """
        self._clear(
            keys=[],
            args=[_glob_escape(self.prefix) + ":*", self._key("seq", "")],
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

    def detach(self) -> None:
        """Drop this process's pooled connections; each process connects again on first use."""
        self._redis.connection_pool.disconnect()

    def close(self) -> None:
        self._redis.close()
