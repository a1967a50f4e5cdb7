-- Push a dead worker's job back to the head of its queue and clear its record.
-- KEYS[1] worker:<id>   KEYS[2] queues (set)   KEYS[3] queue:<name>   KEYS[4] stat:requeued
-- ARGV[1] the worker record exactly as read   ARGV[2] payload   ARGV[3] queue name
-- Returns 1 when requeued, 0 when the record changed meanwhile (someone else handled it).
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("DEL", KEYS[1])
redis.call("SADD", KEYS[2], ARGV[3])
redis.call("LPUSH", KEYS[3], ARGV[2])
redis.call("INCRBY", KEYS[4], 1)
return 1
