-- Take the element at the head of a queue if it is still the one the worker saw.
-- KEYS[1] worker:<id>   KEYS[2] queue:<name>
-- ARGV[1] "take": reserve it as the worker's job (its record as cycle.lua writes it),
--         "drop": remove it (its failure record is already written)
-- ARGV[2] the element   ARGV[3] queue name, JSON-encoded (take)   ARGV[4] run_at text (take)
-- Returns 1 when done, 0 when another element is at the head now.
if redis.call("LINDEX", KEYS[2], 0) ~= ARGV[2] then
  return 0
end
redis.call("LPOP", KEYS[2])
if ARGV[1] == "take" then
  redis.call("SET", KEYS[1],
    '{"queue":' .. ARGV[3] .. ',"run_at":"' .. ARGV[4] .. '","payload":' .. ARGV[2] .. '}')
end
return 1
