-- Fire one occurrence of a recurring entry, at most once, only as master.
-- KEYS[1] master lock   KEYS[2] scheduler:fired   KEYS[3] queues
-- KEYS[4] queue:<q>     KEYS[5] delayed:last_enqueued_at
-- ARGV[1] lock value    ARGV[2] entry name   ARGV[3] occurrence (epoch seconds)
-- ARGV[4] least gap after the last fired occurrence   ARGV[5] queue
-- ARGV[6] payload       ARGV[7] last-enqueued time text   ARGV[8] 1 to push, 0 not
-- Returns -1 when not the lock holder, 0 when already fired, 1 when fired.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '')
local slot = tonumber(ARGV[3])
if last and slot - last < tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
if ARGV[8] == '1' then
  redis.call('SADD', KEYS[3], ARGV[5])
  redis.call('RPUSH', KEYS[4], ARGV[6])
end
redis.call('HSET', KEYS[5], ARGV[2], ARGV[7])
return 1
