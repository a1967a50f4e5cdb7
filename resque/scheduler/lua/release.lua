-- Delete the master lock only if this process still holds it.
-- KEYS[1] the master lock   ARGV[1] this process's <host>:<pid>
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
