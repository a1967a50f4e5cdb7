-- Read a window of a set, hash or sorted set, every member and value cut to a length,
-- so a 50 MB member never leaves Redis whole.
-- KEYS[1] the key
-- ARGV[1] "set", "hash" or "zset"   ARGV[2] cursor (set, hash) or first rank (zset)
-- ARGV[3] how many (a hint for SSCAN/HSCAN)   ARGV[4] bytes kept of each member or value
-- Returns {next cursor ("0" at the end; zset: ""), size, head, size, head, ...}: members
-- (set, zset), or field then value (hash).
local kind, at, n, cut = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local cursor, items = "", {}
if kind == "set" then
  local got = redis.call("SSCAN", KEYS[1], at, "COUNT", n)
  cursor, items = got[1], got[2]
elseif kind == "hash" then
  local got = redis.call("HSCAN", KEYS[1], at, "COUNT", n)
  cursor, items = got[1], got[2]
else
  items = redis.call("ZRANGE", KEYS[1], tonumber(at), tonumber(at) + n - 1)
end
local out = {cursor}
for i, v in ipairs(items) do
  out[#out + 1] = #v
  out[#out + 1] = string.sub(v, 1, cut)
end
return out
