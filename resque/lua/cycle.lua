-- Finish the previous job (optional) and atomically reserve the next one.
-- KEYS[1] worker:<id>           KEYS[2] stat:processed    KEYS[3] stat:processed:<id>
-- KEYS[4] pause-all-workers     KEYS[5] queues (set)      KEYS[6] timing (hash)
-- KEYS[7] timing:classes (set)  KEYS[8..] queue:<name>, in priority order
-- ARGV[1] finish: "1" DEL worker key and count processed, "2" only DEL, "0" nothing
-- ARGV[2] run_at text           ARGV[3] expected SCARD of queues for a wildcard list, or ""
-- ARGV[4] job run times to add, or "": a line "<cap>\t<other>", then per class
--         "<class>\t<count>\t<sum>\t<bucket>:<n> <bucket>:<n>..." (no tab or newline in a class)
-- ARGV[5..] each queue name, already JSON-encoded, matching KEYS[8..]
-- Returns nil (nothing), "paused", "stale" (wildcard list out of date), {position, payload}
-- for a reserved job, or {-position, element} for an element not shaped like a JSON object,
-- which stays at the head of its queue for the worker to fail or take (take_head.lua).
-- A processed counter that is not an integer is skipped (the other is still counted): the
-- reply then ends with that key's name, {position, payload, key}, and nil becomes {0, key}.
-- The payload is never decoded or scanned: the work does not grow with its size.
local bad = false
if ARGV[1] ~= "0" then
  redis.call("DEL", KEYS[1])
  if ARGV[1] == "1" then
    for k = 2, 3 do
      local counted = redis.pcall("INCRBY", KEYS[k], 1)
      if type(counted) == "table" and counted.err then
        bad = KEYS[k]
      end
    end
  end
end
local function answer(position, payload)
  if bad then
    return {position, payload, bad}
  end
  return {position, payload}
end
if ARGV[4] ~= "" then
  local cap, other
  for line in string.gmatch(ARGV[4], "[^\n]+") do
    if not cap then
      local c, o = string.match(line, "^(%d+)\t(.+)$")
      cap, other = tonumber(c), o
    else
      local name, count, sum, buckets = string.match(line, "^([^\t]+)\t(%d+)\t([^\t]+)\t(.*)$")
      if redis.call("SISMEMBER", KEYS[7], name) == 0 then
        if redis.call("SCARD", KEYS[7]) < cap then
          redis.call("SADD", KEYS[7], name)
        else
          name = other
        end
      end
      redis.call("HINCRBY", KEYS[6], "count|" .. name, count)
      redis.call("HINCRBYFLOAT", KEYS[6], "sum|" .. name, sum)
      for b, n in string.gmatch(buckets, "(%d+):(%d+)") do
        redis.call("HINCRBY", KEYS[6], b .. "|" .. name, n)
      end
    end
  end
end
local pause = redis.call("GET", KEYS[4])
if pause and string.lower(string.match(pause, "^%s*(.-)%s*$")) == "true" then
  return "paused"
end
if ARGV[3] ~= "" and redis.call("SCARD", KEYS[5]) ~= tonumber(ARGV[3]) then
  return "stale"
end
for i = 8, #KEYS do
  local payload = redis.call("LPOP", KEYS[i])
  if payload then
    if string.byte(payload, 1) ~= 123 or string.byte(payload, -1) ~= 125 then
      redis.call("LPUSH", KEYS[i], payload)
      return answer(7 - i, payload)
    end
    local head = '{"queue":' .. ARGV[i - 3] .. ',"run_at":"' .. ARGV[2] .. '","payload":'
    if #payload < 65536 then
      redis.call("SET", KEYS[1], head .. payload .. "}")
    else  -- a big payload is copied once more by a Lua concatenation than by APPEND
      redis.call("SET", KEYS[1], head)
      redis.call("APPEND", KEYS[1], payload)
      redis.call("APPEND", KEYS[1], "}")
    end
    return answer(i - 7, payload)
  end
end
if bad then
  return {0, bad}
end
return nil
