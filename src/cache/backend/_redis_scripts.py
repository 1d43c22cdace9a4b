"""Lua scripts of the Redis engine: each is one atomic step on one cluster slot.

Index scripts take the index's two sorted sets, which share a hash tag. The
age-based ones remove at most ``BATCH`` members per call, so that no script
blocks the server for long; the engine calls them until they report less.
"""

from __future__ import annotations

__all__ = [
    "BATCH",
    "DELETE_IF_EQUALS",
    "INCR",
    "INDEX_ADD",
    "INDEX_REMOVE",
    "INDEX_REMOVE_BELOW",
    "INDEX_TRIM",
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

# KEYS[1] by-name set (all scores 0), KEYS[2] by-score set; ARGV score, member, ...
INDEX_ADD = """
local new = 0
for i = 1, #ARGV, 2 do
  new = new + redis.call('ZADD', KEYS[1], 0, ARGV[i + 1])
  redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1])
end
return new
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
