-- Push a dead worker's job back to the head of its queue and clear its record,
-- unless the same job (by content) has been orphaned too often.
-- KEYS[1] worker:<id>   KEYS[2] queues (set)   KEYS[3] queue:<name>   KEYS[4] stat:requeued
-- KEYS[5] orphaned:<sha1 of the payload> (counts deaths; ignored when ARGV[4] is "0")
-- ARGV[1] the worker record exactly as read   ARGV[2] payload   ARGV[3] queue name
-- ARGV[4] limit: the death that reaches it is not requeued ("0": no limit, no count)
-- ARGV[5] seconds the count lives after its last increment
-- Returns 1 when requeued, 0 when the record changed meanwhile (someone else handled it),
-- or -n when this is the n-th death and n reached the limit (the record is left as it is).
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
local limit = tonumber(ARGV[4])
if limit > 0 then
  local deaths = redis.call("INCRBY", KEYS[5], 1)
  redis.call("EXPIRE", KEYS[5], ARGV[5])
  if deaths >= limit then return -deaths end
end
redis.call("DEL", KEYS[1])
redis.call("SADD", KEYS[2], ARGV[3])
redis.call("LPUSH", KEYS[3], ARGV[2])
redis.call("INCRBY", KEYS[4], 1)
return 1
