-- Return a window of a list with every element cut to its head and tail,
-- so a huge element never crosses the wire whole.
-- KEYS[1] the list
-- ARGV[1] start index   ARGV[2] stop index (inclusive, as LRANGE)
-- ARGV[3] head bytes    ARGV[4] tail bytes
-- Returns a flat array: size, head, tail for each element (tail "" when whole).
local items = redis.call("LRANGE", KEYS[1], ARGV[1], ARGV[2])
local head, tail = tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
for _, v in ipairs(items) do
  local n = #v
  out[#out + 1] = n
  if n <= head + tail then
    out[#out + 1] = v
    out[#out + 1] = ""
  else
    out[#out + 1] = string.sub(v, 1, head)
    out[#out + 1] = string.sub(v, n - tail + 1)
  end
end
return out
