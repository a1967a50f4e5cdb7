-- Unregister a worker (Ruby's key set) if its job record is still what the caller read.
-- KEYS[1] workers (set)   KEYS[2] worker:<id>   KEYS[3] worker:<id>:started
-- KEYS[4] workers:heartbeat   KEYS[5] stat:processed:<id>   KEYS[6] stat:failed:<id>
-- ARGV[1] the worker id   ARGV[2] the record as read, "" for none
-- Returns 1 when unregistered, 0 when the record changed (the job it holds is not handled).
if (redis.call("GET", KEYS[2]) or "") ~= ARGV[2] then return 0 end
redis.call("SREM", KEYS[1], ARGV[1])
redis.call("DEL", KEYS[2], KEYS[3], KEYS[5], KEYS[6])
redis.call("HDEL", KEYS[4], ARGV[1])
return 1
