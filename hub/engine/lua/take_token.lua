-- A token bucket shared by every hub process, as GCRA (one timestamp per key).
-- KEYS[1]: the key. ARGV[1]: now (seconds), ARGV[2]: seconds per token,
-- ARGV[3]: burst (tokens that may be saved up).
-- Returns "0" if a token was taken, else the seconds to wait, as a string.
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local allow_at = tat + interval - burst * interval
if allow_at > now then
  return tostring(allow_at - now)
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', new_tat), 'PX',
           math.ceil((new_tat - now) * 1000) + 1000)
return '0'
