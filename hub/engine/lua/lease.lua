-- Take, renew or release a lease held by one node at a time.
-- KEYS[1] lease key: "<holder>\t<expires at>"
-- ARGV[1] "claim" | "release"   ARGV[2] holder   ARGV[3] now   ARGV[4] expires at
-- ARGV[5] key lifetime in ms (a backstop if every holder vanished)
-- Returns 1 if the holder holds the lease afterwards (claim), 1/0 released (release).
local current = redis.call('GET', KEYS[1])
local holder, expires = nil, nil
if current then
  holder, expires = string.match(current, '^(.*)\t([^\t]+)$')
end
if ARGV[1] == 'release' then
  if holder == ARGV[2] then redis.call('DEL', KEYS[1]) return 1 end
  return 0
end
if holder and holder ~= ARGV[2] and tonumber(expires) > tonumber(ARGV[3]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2] .. '\t' .. ARGV[4], 'PX', ARGV[5])
return 1
