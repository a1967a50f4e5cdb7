-- Walk a failure list window by window, never blocking Redis for more than one window.
-- A run owns the list's sweep (KEYS[3] holds its token, with a TTL refreshed by every call).
-- "take" moves the head window to the tail of the sweep list, each record kept, dropped or
-- rewritten as planned, and pushes retried jobs; "restore" moves the sweep list back to the
-- head, in order, so new failures pushed meanwhile stay behind the older ones.
-- KEYS[1] the failure list   KEYS[2] its sweep list   KEYS[3] its sweep owner
-- KEYS[4] queues (set)       KEYS[5..] queue:<name> of each job pushed (take)
-- ARGV[1] "begin", "take", "restore", "recover" or "end"   ARGV[2] owner token   ARGV[3] owner TTL (ms)
-- take:    ARGV[4] n, the head records planned   ARGV[5] the plan, a letter per record:
--          k keep, d drop, r rewrite   ARGV[6 .. 5+n] the n records as read
--          then the rewritten records in order, then per KEYS[5..]: queue name, count, payloads
-- restore, recover: ARGV[4] how many records to move back at most ("recover" puts back what
--          a dead run left, without taking the sweep: any reader may call it)
-- Returns -2 when another run owns the sweep; begin: the sweep list's length (a dead run's
-- leftovers, to restore first); take: n, or -1 when the head changed since it was read;
-- restore, recover: the sweep list's length left; end: 1.
local owner = redis.call("GET", KEYS[3])
local mode = ARGV[1]
if owner and (owner ~= ARGV[2] or mode == "recover") then
  return -2
end
if mode == "end" then
  redis.call("DEL", KEYS[3])
  return 1
end
if mode ~= "recover" then
  redis.call("SET", KEYS[3], ARGV[2], "PX", tonumber(ARGV[3]))
end
if mode == "begin" then
  return redis.call("LLEN", KEYS[2])
end
if mode == "restore" or mode == "recover" then
  local items = redis.call("RPOP", KEYS[2], tonumber(ARGV[4]))
  if items then
    redis.call("LPUSH", KEYS[1], unpack(items))
  end
  return redis.call("LLEN", KEYS[2])
end
local n = tonumber(ARGV[4])
local head = redis.call("LRANGE", KEYS[1], 0, n - 1)
if #head ~= n then
  return -1
end
for i = 1, n do
  if head[i] ~= ARGV[5 + i] then
    return -1
  end
end
local plan = ARGV[5]
local out = {}
local next_arg = 6 + n
for i = 1, n do
  local step = string.sub(plan, i, i)
  if step == "k" then
    out[#out + 1] = head[i]
  elseif step == "r" then
    out[#out + 1] = ARGV[next_arg]
    next_arg = next_arg + 1
  end
end
redis.call("LTRIM", KEYS[1], n, -1)
if #out > 0 then
  redis.call("RPUSH", KEYS[2], unpack(out))
end
for j = 5, #KEYS do
  local count = tonumber(ARGV[next_arg + 1])
  redis.call("SADD", KEYS[4], ARGV[next_arg])
  redis.call("RPUSH", KEYS[j], unpack(ARGV, next_arg + 2, next_arg + 1 + count))
  next_arg = next_arg + 2 + count
end
return n
