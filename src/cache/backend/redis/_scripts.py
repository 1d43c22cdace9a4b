"""Lua scripts of the Redis engine: each is one atomic step on one cluster slot.

Index scripts take the index's two sorted sets and its marker, which share a
hash tag. The age-based ones remove at most ``BATCH`` members per call, so that
no script blocks the server for long; the engine calls them until they report less.
"""

from __future__ import annotations

__all__ = [
    "BATCH",
    "BY_NAME",
    "DELETE_IF_EQUALS",
    "GET_ENTRY",
    "INCR",
    "INDEX_ADD",
    "INDEX_RANGE",
    "INDEX_REMOVE",
    "INDEX_REMOVE_BELOW",
    "INDEX_TRIM",
    "LATE",
    "LEASE",
    "STATE",
    "TOUCH",
]

BATCH = 1000

# KEYS[1] key; ARGV[1] delta; ARGV[2] ms to live if created (0: no expiry).
# ints are stored raw so that INCRBY stays atomic (issue 4); a serialized
# value makes INCRBY fail, which the engine reports as a type error.
INCR = """
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""

# KEYS[1] key; ARGV[1] the bytes expected. The owner-only release of a lock.
DELETE_IF_EQUALS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# True past the caller's deadline (unix ms; 0: none): a command that reaches a
# hung server after its caller gave up must take no lock (issue 4). The
# server's clock is compared with the caller's: skew between hosts moves it.
LATE = """
local function late(deadline)
  if tonumber(deadline) <= 0 then return false end
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(deadline)
end
"""

# KEYS[1] lock; ARGV[1] token, ARGV[2] ms, ARGV[3] deadline. Take the lock if
# free, extend it if the token holds it; 1 if the token holds it now.
LEASE = (
    LATE
    + """
if late(ARGV[3]) then return 0 end
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
)

# KEYS[1] key; ARGV[1] ms to live (0: no expiry). 1 if the key exists.
TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(ARGV[1]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
else
  redis.call('PERSIST', KEYS[1])
end
return 1
"""

# The state of an index (issue 2: under an allkeys-* maxmemory-policy Redis
# evicts an index like any key, and a prefix invalidation then finds nothing).
# The by-name set holds the member '' (never a key) from its creation, so it
# exists as a whole or not at all; the marker KEYS[3] says whether the set has
# held every member since the first: 'ok', or 'lost' once a set was recreated.
# 'ok' needs both; any other combination is 'lost' (a marker evicted alone
# fails safe), except neither, which is 'none' (no index) only where nothing
# can have been evicted: a policy other than allkeys-*, or no eviction yet.
# Reading the marker on every call keeps it as recently used as the index.
STATE = """
local function index_state()
  local marker = redis.call('GET', KEYS[3])
  if redis.call('ZSCORE', KEYS[1], '') then
    if marker == 'ok' then return 'ok' end
    return 'lost'
  end
  if marker then return 'lost' end
  local policy = string.match(redis.call('INFO', 'memory'), 'maxmemory_policy:([%w-]+)')
  if policy == nil then return 'lost' end
  if string.sub(policy, 1, 8) ~= 'allkeys-' then return 'none' end
  local evicted = string.match(redis.call('INFO', 'stats'), 'evicted_keys:(%d+)')
  if evicted == nil or tonumber(evicted) > 0 then return 'lost' end
  return 'none'
end
"""

# KEYS[1] by-name set (all scores 0), KEYS[2] by-score set, KEYS[3] marker;
# ARGV score, member, ... A set created where an index was lost stays 'lost'.
INDEX_ADD = (
    STATE
    + """
local state = index_state()
if state ~= 'ok' and not redis.call('ZSCORE', KEYS[1], '') then
  redis.call('SET', KEYS[3], state == 'none' and 'ok' or 'lost')
  redis.call('ZADD', KEYS[1], 0, '')
end
local new = 0
for i = 1, #ARGV, 2 do
  new = new + redis.call('ZADD', KEYS[1], 0, ARGV[i + 1])
  redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1])
end
return new
"""
)

# KEYS as above; ARGV[1] low, ARGV[2] high (ZRANGEBYLEX bounds), ARGV[3] most
# members (-1: all). The state, then the members in range.
INDEX_RANGE = (
    STATE
    + """
local state = index_state()
return {state, redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[3])}
"""
)

# Relearning a lost index (KEYS as above): BEGIN marks it 'scan:<token>'
# (still not 'ok') before the caller SCANs the namespace; RELEARN adds the
# live keys found (ARGV[1] token, ARGV[2] score, ARGV[3] '1' on the last
# batch, then the members) and, on the last batch, marks it 'ok' again:
# only if the marker still holds the token and the set was not evicted
# since (a set recreated meanwhile is marked 'lost' by INDEX_ADD).
INDEX_BEGIN = (
    STATE
    + """
if index_state() ~= 'lost' then return 0 end
redis.call('ZADD', KEYS[1], 0, '')
redis.call('SET', KEYS[3], 'scan:' .. ARGV[1])
return 1
"""
)

INDEX_RELEARN = """
if redis.call('GET', KEYS[3]) ~= 'scan:' .. ARGV[1] then return 0 end
if not redis.call('ZSCORE', KEYS[1], '') then return 0 end
for i = 4, #ARGV do
  redis.call('ZADD', KEYS[1], 0, ARGV[i])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[i])
end
if ARGV[3] == '1' then redis.call('SET', KEYS[3], 'ok') end
return 1
"""

# KEYS as above; ARGV members.
INDEX_REMOVE = """
local removed = 0
for i = 1, #ARGV do
  removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return removed
"""

# KEYS as above; ARGV[1] exclusive cutoff score, ARGV[2] most members to remove.
INDEX_REMOVE_BELOW = """
local members = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[2])
if #members > 0 then
  redis.call('ZREM', KEYS[1], unpack(members))
  redis.call('ZREM', KEYS[2], unpack(members))
end
return #members
"""

# KEYS as above; ARGV[1] size to keep, ARGV[2] most members to remove.
INDEX_TRIM = """
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[1])
if excess <= 0 then return 0 end
excess = math.min(excess, tonumber(ARGV[2]))
local members = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
redis.call('ZREM', KEYS[1], unpack(members))
redis.call('ZREM', KEYS[2], unpack(members))
return #members
"""

# KEYS[1] entry, KEYS[2] claim key; ARGV[1] claim token, ARGV[2] claim ms,
# ARGV[3] claim when the entry's PTTL is at most this (-1: no claim),
# ARGV[4] the caller's deadline (see LATE).
# An entry written by set_entry starts with the refs header (_header.py: 'r', a
# 4-byte length, a JSON list of the keys it depends on); their values come
# back in the same reply.
# The refs are not declared in KEYS: single-server only (a cluster reads
# them in separate commands, see RedisCache.get_entry).
GET_ENTRY = (
    LATE
    + """
local value = redis.call('GET', KEYS[1])
if not value then return {false, {}, 0} end
local refs = {}
if string.sub(value, 1, 1) == 'r' then
  local size = struct.unpack('>I4', value, 2)
  local names = cjson.decode(string.sub(value, 6, 5 + size))
  if #names > 0 then refs = redis.call('MGET', unpack(names)) end
end
local claimed = 0
if tonumber(ARGV[3]) >= 0 then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl >= 0 and ttl <= tonumber(ARGV[3]) and not late(ARGV[4]) then
    if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then claimed = 1 end
  end
end
return {value, refs, claimed}
"""
)

#: What each client registers, by the name the engine calls it.
BY_NAME = {
    "incr": INCR,
    "delete_if_equals": DELETE_IF_EQUALS,
    "lease": LEASE,
    "get_entry": GET_ENTRY,
    "touch": TOUCH,
    "index_add": INDEX_ADD,
    "index_range": INDEX_RANGE,
    "index_begin": INDEX_BEGIN,
    "index_relearn": INDEX_RELEARN,
    "index_remove": INDEX_REMOVE,
    "index_remove_below": INDEX_REMOVE_BELOW,
    "index_trim": INDEX_TRIM,
}
