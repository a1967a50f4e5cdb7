-- Finish the previous job (optional) and atomically reserve the next one.
-- KEYS[1] worker:<id>           KEYS[2] stat:processed    KEYS[3] stat:processed:<id>
-- KEYS[4] pause-all-workers     KEYS[5] queues (set)      KEYS[6..] queue:<name>, in priority order
-- ARGV[1] finish: "1" DEL worker key and count processed, "2" only DEL, "0" nothing
-- ARGV[2] run_at text           ARGV[3] expected SCARD of queues for a wildcard list, or ""
-- ARGV[4..] each queue name, already JSON-encoded, matching KEYS[6..]
-- Returns nil (nothing), "paused", "stale" (wildcard list out of date), {position, payload}
-- for a reserved job, or {-position, element} for an element not shaped like a JSON object,
-- which stays at the head of its queue for the worker to fail or take (take_head.lua).
-- The payload is never decoded or scanned: the work does not grow with its size.
if ARGV[1] ~= "0" then
  redis.call("DEL", KEYS[1])
  if ARGV[1] == "1" then
    redis.call("INCRBY", KEYS[2], 1)
    redis.call("INCRBY", KEYS[3], 1)
  end
end
local pause = redis.call("GET", KEYS[4])
if pause and string.lower(string.match(pause, "^%s*(.-)%s*$")) == "true" then
  return "paused"
end
if ARGV[3] ~= "" and redis.call("SCARD", KEYS[5]) ~= tonumber(ARGV[3]) then
  return "stale"
end
for i = 6, #KEYS do
  local payload = redis.call("LPOP", KEYS[i])
  if payload then
    if string.byte(payload, 1) ~= 123 or string.byte(payload, -1) ~= 125 then
      redis.call("LPUSH", KEYS[i], payload)
      return {5 - i, payload}
    end
    local head = '{"queue":' .. ARGV[i - 2] .. ',"run_at":"' .. ARGV[2] .. '","payload":'
    if #payload < 65536 then
      redis.call("SET", KEYS[1], head .. payload .. "}")
    else  -- a big payload is copied once more by a Lua concatenation than by APPEND
      redis.call("SET", KEYS[1], head)
      redis.call("APPEND", KEYS[1], payload)
      redis.call("APPEND", KEYS[1], "}")
    end
    return {i - 5, payload}
  end
end
return nil
