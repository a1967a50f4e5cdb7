-- Move the head of one delayed bucket to the work queues, atomically.
-- KEYS[1] delayed:<ts> (the bucket)   KEYS[2] delayed_queue_schedule
-- KEYS[3] queues                      KEYS[4] failed (items set aside)
-- KEYS[4+j] queue:<q of group j>, j = 1..g
-- ARGV[1] the sorted-set member       ARGV[2] delayed:<ts> un-prefixed
-- ARGV[3] the timestamps: key prefix  ARGV[4] n   ARGV[5] g
-- ARGV[6] the n items concatenated
-- ARGV[7] 6 bytes per item, big-endian: its op (2 bytes), its length (4 bytes).
--   Ops: 0 drop, 1 set aside (next data is the failure record), 2j push the next
--   data to group j, 2j+1 push the item itself less its last cut_j bytes, closed
--   with '}' (its "queue" member removed: no copy of it is sent)
-- ARGV[7+j] queue name of group j   ARGV[7+g+j] cut_j   ARGV[8+2g...] data, in item order
-- The batch moves only if the bucket still starts with exactly these n items
-- (the check Ruby's WATCH makes: same lengths, same bytes); else nothing
-- changes and -1 is returned. The timestamps:<item> keys are built here from
-- the items read, not passed in KEYS: resque-scheduler's keys are not
-- Cluster-compatible anyway (one set per item, anywhere in the key space),
-- and Cluster is not supported. An emptied bucket is deleted with its member.
-- Returns the items left.
local n, g = tonumber(ARGV[4]), tonumber(ARGV[5])
local head = {}
if n > 0 then
  head = redis.call('LRANGE', KEYS[1], 0, n - 1)
  if #head ~= n then return -1 end
  local ops = ARGV[7]
  for i = 1, n do
    local _, _, a, b, c, d = string.byte(ops, 6 * i - 5, 6 * i)
    if #head[i] ~= ((a * 256 + b) * 256 + c) * 256 + d then return -1 end
  end
  if table.concat(head) ~= ARGV[6] then return -1 end
  local prefix, name = ARGV[3], ARGV[2]
  for i = 1, n do
    redis.call('SREM', prefix .. head[i], name)
  end
end
local out, sizes, cuts = {}, {}, {}
for j = 1, g do
  out[j], sizes[j], cuts[j] = {}, 0, tonumber(ARGV[7 + g + j])
end
local failed, nfailed = {}, 0
local ops, at = ARGV[7], 7 + 2 * g
for i = 1, n do
  local hi, lo = string.byte(ops, 6 * i - 5, 6 * i - 4)
  local code = hi * 256 + lo
  if code == 1 then
    at = at + 1
    nfailed = nfailed + 1
    failed[nfailed] = ARGV[at]
  elseif code >= 2 then
    local j = math.floor(code / 2)
    local size = sizes[j] + 1
    sizes[j] = size
    if code % 2 == 1 then
      local item = head[i]
      out[j][size] = string.sub(item, 1, #item - cuts[j]) .. '}'
    else
      at = at + 1
      out[j][size] = ARGV[at]
    end
  end
end
for j = 1, g do
  redis.call('SADD', KEYS[3], ARGV[7 + j])
  for k = 1, sizes[j], 1000 do  -- unpack has a stack limit
    redis.call('RPUSH', KEYS[4 + j], unpack(out[j], k, math.min(k + 999, sizes[j])))
  end
end
for k = 1, nfailed, 1000 do
  redis.call('RPUSH', KEYS[4], unpack(failed, k, math.min(k + 999, nfailed)))
end
if n > 0 then redis.call('LTRIM', KEYS[1], n, -1) end
local left = redis.call('LLEN', KEYS[1])
if left == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return left
