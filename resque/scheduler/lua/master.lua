-- Become or stay master: Ruby's acquire! (SETNX + EXPIRE) then locked?.
-- KEYS[1] the master lock   ARGV[1] this process's <host>:<pid>   ARGV[2] TTL seconds
-- Returns 1 when this process holds the lock (its TTL pushed back), else 0.
if redis.call('SETNX', KEYS[1], ARGV[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
