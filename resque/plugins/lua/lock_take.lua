-- Take a job lock (resque-lock-timeout's layout), optionally dropping another.
-- KEYS[1]  the lock to take
-- KEYS[2]  (optional) a lock to delete whatever happens: the queued lock of a job now running
-- ARGV[1]  now, whole epoch seconds
-- ARGV[2]  the value to write: "<until> <holder>"
-- ARGV[3]  the lock's time to live in seconds
-- ARGV[4]  the holder ("<host>:<pid>"), or "" for a lock never taken twice
-- Returns 1 when taken. A held lock is taken over when the epoch it starts
-- with has passed (a Ruby holder's lock_timeout) or when it names this holder.
local held = redis.call('GET', KEYS[1])
local taken = 0
if not held then
  taken = 1
else
  local stamp = tonumber(string.match(held, '^%s*(%d+)'))
  local holder = ' ' .. ARGV[4]
  if stamp and stamp < tonumber(ARGV[1]) then
    taken = 1
  elseif ARGV[4] ~= '' and string.sub(held, -string.len(holder)) == holder then
    taken = 1
  end
end
if taken == 1 then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
if KEYS[2] then
  redis.call('DEL', KEYS[2])
end
return taken
