"""The Redis store: every piece of state in one Redis database, shared by workers on many hosts.

Needs the optional `redis` package (`pip install 'consent-mockserver[redis]'`) and Redis 6.2 or
later. Every key starts with the store's prefix (default `mockserver:<db>`), so `clear()` removes
this store's keys and nothing else in the database. Keys, below the prefix:

    rec:<provider>:<id>        hash {tenant, version, data}; ids are unique per provider
    ten:<provider>:<tenant>    sorted set of ids, scored by insertion order
    count                      how many records there are
    kv:<namespace>:<key>       JSON [expires (epoch seconds) or null, value]
    doc:<name>                 JSON document
    journal                    list of "<id>:<JSON entry>", trimmed to the capacity
    faults                     hash: s:<id> the JSON spec, h:<id> hits, t:<id> times (if any)
    seq:records|journal|faults counters; kept by clear(), so ids never repeat

Every conditional write is one Lua script, which Redis runs atomically.
"""

from __future__ import annotations

import builtins
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .store import JsonDict, Record, RecordNotFound, VersionConflict

if TYPE_CHECKING:
    import redis

__all__ = ["RedisStore"]

# A value's Redis TTL is only garbage collection: its expiry in simulated time decides. The
# simulated clock can stand still or lag the wall clock, so the TTL runs this long past the
# expiry measured on the wall clock (and never less than this).
TTL_GRACE_SECONDS = 7 * 24 * 3600

_INSERT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'tenant', ARGV[1], 'version', 1, 'data', ARGV[3])
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[2])
redis.call('INCR', KEYS[4])
return 1
"""

_REPLACE = """
local current = redis.call('HMGET', KEYS[1], 'tenant', 'version', 'data')
if current[1] ~= ARGV[1] then return {0} end
local version = tonumber(current[2])
if ARGV[3] ~= '' and version ~= tonumber(ARGV[3]) then return {1, version, current[3]} end
redis.call('HSET', KEYS[1], 'version', version + 1, 'data', ARGV[2])
return {2, version + 1}
"""

_DELETE = """
if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('DECR', KEYS[3])
return 1
"""

_LIST = """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local row = redis.call('HMGET', ARGV[1] .. id, 'version', 'data')
  if row[1] then
    out[#out + 1] = id
    out[#out + 1] = row[1]
    out[#out + 1] = row[2]
  end
end
return out
"""

# The TTL is measured on the Redis server's clock, the one clock every worker shares.
_PUT_EXPIRING = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = math.max(tonumber(ARGV[2]) - now_ms, 0) + tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', math.floor(ttl))
return 1
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


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


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
        self._list = script(_LIST)
        self._put_expiring = script(_PUT_EXPIRING)
        self._journal_append = script(_JOURNAL_APPEND)
        self._journal_clear = script(_JOURNAL_CLEAR)
        self._fault_add = script(_FAULT_ADD)
        self._fault_hit = script(_FAULT_HIT)
        self._fault_remove_all = script(_FAULT_REMOVE_ALL)
        self._clear = script(_CLEAR)

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

    def list(self, provider: str, tenant: str) -> list[Record]:
        flat = [
            str(item)
            for item in self._list(
                keys=[self._tenant_key(provider, tenant)], args=[self._key("rec", provider, "")]
            )
        ]
        return [
            Record(provider, tenant, flat[i], int(flat[i + 1]), json.loads(flat[i + 2]))
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
            ],
            args=[tenant, record_id, text],
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
            args=[tenant, text, "" if expected_version is None else str(expected_version)],
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
            ],
            args=[tenant, record_id],
        )
        return bool(deleted)

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

    def close(self) -> None:
        self._redis.close()
