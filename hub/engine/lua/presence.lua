-- Join or leave a channel's presence; tells whether the user's presence changed.
-- KEYS[1] presence hash: field "<username>\t<node id>" -> "<expires at>\t<entry JSON>"
-- ARGV[1] "join" | "leave"   ARGV[2] username   ARGV[3] node id
-- ARGV[4] now   ARGV[5] expires at   ARGV[6] entry JSON
-- Returns 1 if this was the user's first live node (join) or last (leave).
local prefix = ARGV[2] .. '\t'
local function live_others()
  local n = 0
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local field, value = all[i], all[i + 1]
    if string.sub(field, 1, #prefix) == prefix and field ~= prefix .. ARGV[3] then
      local expires = tonumber(string.match(value, '^[^\t]+'))
      if expires and expires > tonumber(ARGV[4]) then n = n + 1 end
    end
  end
  return n
end
if ARGV[1] == 'join' then
  local others = live_others()
  local fresh = redis.call('HSET', KEYS[1], prefix .. ARGV[3], ARGV[5] .. '\t' .. ARGV[6])
  if others == 0 and fresh == 1 then return 1 end
  return 0
end
local removed = redis.call('HDEL', KEYS[1], prefix .. ARGV[3])
if removed == 1 and live_others() == 0 then return 1 end
return 0
