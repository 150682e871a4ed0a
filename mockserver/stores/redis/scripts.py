"""The Redis store's Lua scripts: every conditional write, which Redis runs atomically."""

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
INSERT = (
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

# ARGV: tenant, data, the version the caller read, st, ord, dl, id, st_prefix, ord_key, dl_key
REPLACE = (
    _INDEX
    + """
local current = redis.call('HMGET', KEYS[1], 'tenant', 'version', 'data', 'st', 'ord', 'seq')
if current[1] ~= ARGV[1] then return {0} end
local version = tonumber(current[2])
if version ~= tonumber(ARGV[3]) then return {1, version, current[3]} end
redis.call('HSET', KEYS[1], 'version', version + 1, 'data', ARGV[2],
           'st', ARGV[4], 'ord', ARGV[5], 'dl', ARGV[6])
reindex(ARGV[7], current[6], ARGV[8], ARGV[9], ARGV[10], {current[4], current[5]},
        {ARGV[4], ARGV[5], ARGV[6]})
return {2, version + 1}
"""
)

# KEYS: the record, the tenant's set, the count, the unkeyed set, the tenants hash.
# ARGV: tenant, id, st_prefix, ord_key, dl_key
DELETE = (
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
REKEY = (
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
PAGE = (
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
DUE = _ROWS + "return rows(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2]), ARGV[1], {})"

FEED_APPEND = """
redis.call('RPUSH', KEYS[1], ARGV[1])
local capacity = tonumber(ARGV[2])
if capacity < 1 then redis.call('DEL', KEYS[1]) else redis.call('LTRIM', KEYS[1], -capacity, -1) end
return 1
"""

FEED_CLEAR = """
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return n
"""

# The tenants hash of a store written before it existed, from the tenants' sets (the truth):
# KEYS[1] the hash; ARGV: the tenant set key prefix, then the tenants found by a SCAN.
RECOUNT_TENANTS = """
for i = 2, #ARGV do
  local n = redis.call('ZCARD', ARGV[1] .. ARGV[i])
  if n > 0 then redis.call('HSET', KEYS[1], ARGV[i], n)
  else redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 1
"""

LIST = _ROWS + "return rows(redis.call('ZRANGE', KEYS[1], 0, -1), ARGV[1], {})"

# The TTL is measured on the Redis server's clock, the one clock every worker shares.
PUT_EXPIRING = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = math.max(tonumber(ARGV[2]) - now_ms, 0) + tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', math.floor(ttl))
return 1
"""

# KEYS[1]: the value's key. ARGV: the JSON [null, value] to store, the simulated now (epoch s).
CLAIM = """
local current = redis.call('GET', KEYS[1])
if current then
  local expires = cjson.decode(current)[1]
  if expires == cjson.null or expires > tonumber(ARGV[2]) then return current end
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
"""

JOURNAL_APPEND = """
local id = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], id .. ':' .. ARGV[1])
local capacity = tonumber(ARGV[2])
if capacity < 1 then redis.call('DEL', KEYS[2]) else redis.call('LTRIM', KEYS[2], -capacity, -1) end
return id
"""

JOURNAL_CLEAR = """
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return n
"""

FAULT_ADD = """
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], 's:' .. id, ARGV[1], 'h:' .. id, 0)
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], 't:' .. id, ARGV[2]) end
return id
"""

FAULT_HIT = """
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], 's:' .. id) == 0 then return 0 end
local hits = redis.call('HINCRBY', KEYS[1], 'h:' .. id, 1)
local times = redis.call('HGET', KEYS[1], 't:' .. id)
if times and hits >= tonumber(times) then
  redis.call('HDEL', KEYS[1], 's:' .. id, 'h:' .. id, 't:' .. id)
end
return 1
"""

FAULT_REMOVE_ALL = """
local n = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 's:' then n = n + 1 end
end
redis.call('DEL', KEYS[1])
return n
"""

# KEYS: the queue's set, its entries, the id counter. ARGV: the JSON entry, the due time.
QUEUE_PUSH = """
local id = redis.call('INCR', KEYS[3])
local member = string.format('%020d', id)
redis.call('HSET', KEYS[2], member, ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], member)
return id
"""

# KEYS: the queue's set, its entries. ARGV: now, the end of the lease, the limit.
QUEUE_CLAIM = """
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
QUEUE_RETRY = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

# One script, so a concurrent insert cannot leave a record behind with the count gone.
CLEAR = """
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
