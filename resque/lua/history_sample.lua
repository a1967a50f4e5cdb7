-- Claim one sampling period and snapshot the processed/failed counters in it.
-- KEYS[1] history:claimed (hash)   KEYS[2] history:<series> (sorted set)
-- KEYS[3] stat:processed           KEYS[4] stat:failed
-- KEYS[5] history:day (sorted set; only written when ARGV[4] is "1")
-- ARGV[1] period in seconds        ARGV[2] series name (the claims field)
-- ARGV[3] seconds of samples kept  ARGV[4] "1" to keep the day's first snapshot too
-- ARGV[5] seconds of day snapshots kept
-- Returns 0 when the period was already claimed (by any process), -1 when a
-- counter holds something that is not an integer, else the snapshot member
-- "<time>:<processed>:<failed>" (time from the Redis server's clock).
local t = redis.call("TIME")
local secs = tonumber(t[1])
local now = secs + tonumber(t[2]) / 1000000
local slot = math.floor(secs / tonumber(ARGV[1]))
local last = tonumber(redis.call("HGET", KEYS[1], ARGV[2]) or "")
if last and last >= slot then
  return 0
end
redis.call("HSET", KEYS[1], ARGV[2], slot)
local function counter(key)
  local v = redis.pcall("GET", key)
  if type(v) == "table" then return nil end
  if not v then return "0" end
  if not string.match(v, "^%-?%d+$") then return nil end
  return v
end
local p, f = counter(KEYS[3]), counter(KEYS[4])
if not p or not f then
  return -1
end
local member = string.format("%.3f", now) .. ":" .. p .. ":" .. f
redis.call("ZADD", KEYS[2], now, member)
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", "(" .. (now - tonumber(ARGV[3])))
if ARGV[4] == "1" then
  local day = math.floor(secs / 86400) * 86400
  if #redis.call("ZRANGEBYSCORE", KEYS[5], day, "+inf", "LIMIT", 0, 1) == 0 then
    redis.call("ZADD", KEYS[5], now, member)
    redis.call("ZREMRANGEBYSCORE", KEYS[5], "-inf", "(" .. (now - tonumber(ARGV[5])))
  end
end
return member
