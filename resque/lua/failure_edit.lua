-- Retry or remove one failure record, found by content even if it moved a little
-- (up to 2000 places toward the head or 200 toward the tail of the index given).
-- KEYS[1] the failure list   KEYS[2] queues (set)   KEYS[3] queue:<name> (retry only)
-- ARGV[1] "retry" or "remove"
-- ARGV[2] expected index     ARGV[3] sha1 hex (or a prefix of it) of the record
-- ARGV[4] the record to write back (retry)   ARGV[5] payload to push   ARGV[6] queue name
-- Returns the index acted on, or -1 when no record matches.
local idx = tonumber(ARGV[2])
local want = ARGV[3]
local function matches(v)
  return v and string.sub(redis.sha1hex(v), 1, #want) == want
end
if not (idx and idx >= 0 and matches(redis.call("LINDEX", KEYS[1], idx))) then
  -- moved: look near where it was (records move toward the head as others go),
  -- never through the whole list, which could hold millions
  local from = math.max(0, (idx or 0) - 2000)
  local chunk = redis.call("LRANGE", KEYS[1], from, (idx or 0) + 200)
  idx = -1
  for j, v in ipairs(chunk) do
    if matches(v) then idx = from + j - 1; break end
  end
  if idx < 0 then return -1 end
end
if ARGV[1] == "retry" then
  redis.call("LSET", KEYS[1], idx, ARGV[4])
  redis.call("SADD", KEYS[2], ARGV[6])
  redis.call("RPUSH", KEYS[3], ARGV[5])
else
  local tomb = "\0resque:removed\0" .. ARGV[3]
  redis.call("LSET", KEYS[1], idx, tomb)
  redis.call("LREM", KEYS[1], 1, tomb)
end
return idx
