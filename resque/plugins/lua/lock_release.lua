-- Release a lock only if it still holds the value its holder wrote.
-- KEYS[1]  the lock
-- ARGV[1]  the value written when it was taken
-- Returns 1 when released, 0 when it was gone or held by someone else.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
