-- Move the head of one delayed bucket to the work queues, atomically.
-- KEYS[1] delayed:<ts> (the bucket)   KEYS[2] delayed_queue_schedule
-- KEYS[3] queues                      KEYS[4] failed (items set aside)
-- KEYS[4+i] timestamps:<item i>, i = 1..n;  KEYS[4+n+j] queue:<q of group j>, j = 1..g
-- ARGV[1] the sorted-set member       ARGV[2] delayed:<ts> un-prefixed
-- ARGV[3] n  ARGV[4] g  ARGV[4+i] item i's bytes, then per group: queue name, count,
-- that many payloads (in bucket order), then the number of failure records and the records.
-- The batch moves only if the bucket still starts with exactly these n items
-- (the check Ruby's WATCH makes); else nothing changes and -1 is returned.
-- An emptied bucket is deleted with its member. Returns the items left.
local n, g = tonumber(ARGV[3]), tonumber(ARGV[4])
if n > 0 then
  local head = redis.call('LRANGE', KEYS[1], 0, n - 1)
  if #head ~= n then return -1 end
  for i = 1, n do
    if head[i] ~= ARGV[4 + i] then return -1 end
  end
  for i = 1, n do
    redis.call('SREM', KEYS[4 + i], ARGV[2])
  end
end
local at = 5 + n
for j = 1, g do
  local count = tonumber(ARGV[at + 1])
  redis.call('SADD', KEYS[3], ARGV[at])
  redis.call('RPUSH', KEYS[4 + n + j], unpack(ARGV, at + 2, at + 1 + count))
  at = at + 2 + count
end
local failed = tonumber(ARGV[at])
if failed > 0 then
  redis.call('RPUSH', KEYS[4], unpack(ARGV, at + 1, at + failed))
end
if n > 0 then redis.call('LTRIM', KEYS[1], n, -1) end
local left = redis.call('LLEN', KEYS[1])
if left == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return left
