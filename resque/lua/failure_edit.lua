-- Retry or remove one failure record, found by content even if the list moved.
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
  idx = -1
  local n = redis.call("LLEN", KEYS[1])
  local step = 1000
  for start = 0, n - 1, step do
    local chunk = redis.call("LRANGE", KEYS[1], start, start + step - 1)
    for j, v in ipairs(chunk) do
      if matches(v) then idx = start + j - 1; break end
    end
    if idx >= 0 then break end
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
