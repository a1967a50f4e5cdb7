-- Move the head of one delayed bucket to the work queues, atomically.
-- KEYS[1] delayed:<ts> (the bucket)      KEYS[2] delayed_queue_schedule
-- KEYS[3] queues                         KEYS[4] failed (items set aside)
-- KEYS[4+i] timestamps:<item i>          KEYS[4+n+i] queue:<q of item i>
-- ARGV[1] the sorted-set member          ARGV[2] delayed:<ts> un-prefixed
-- ARGV[3] n, then per item: item bytes, action (push|fail|drop), queue, payload or record
-- The batch moves only if the bucket still starts with exactly these items
-- (the check Ruby's WATCH makes); else nothing changes and -1 is returned.
-- An emptied bucket is deleted with its member. Returns the items left.
local n = tonumber(ARGV[3])
if n > 0 then
  local head = redis.call('LRANGE', KEYS[1], 0, n - 1)
  if #head ~= n then return -1 end
  for i = 1, n do
    if head[i] ~= ARGV[4 + (i - 1) * 4] then return -1 end
  end
end
for i = 1, n do
  local at = 4 + (i - 1) * 4
  redis.call('SREM', KEYS[4 + i], ARGV[2])
  local action = ARGV[at + 1]
  if action == 'push' then
    redis.call('SADD', KEYS[3], ARGV[at + 2])
    redis.call('RPUSH', KEYS[4 + n + i], ARGV[at + 3])
  elseif action == 'fail' then
    redis.call('RPUSH', KEYS[4], ARGV[at + 3])
  end
end
if n > 0 then redis.call('LTRIM', KEYS[1], n, -1) end
local left = redis.call('LLEN', KEYS[1])
if left == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return left
