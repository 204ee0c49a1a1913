-- Raise a marker to ARGV[1] if it is higher than the stored value.
-- KEYS[1]: the marker key. ARGV[1]: the new value. ARGV[2]: TTL in ms.
-- Returns 1 if the marker was raised, 0 if ARGV[1] was not higher (a replay).
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local value = tonumber(ARGV[1])
if value <= current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
