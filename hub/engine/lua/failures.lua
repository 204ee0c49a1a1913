-- Failures of one key in a sliding window, shared by every hub process.
-- KEYS[1]: a sorted set of failure times. ARGV[1]: now (seconds), ARGV[2]: the
-- window (seconds), ARGV[3]: the most entries kept, ARGV[4]: a unique member,
-- ARGV[5]: "1" to count a failure now, "0" to look only.
-- Returns the failures within the window, this one included; past the cap a
-- failure is reported (cap + 1) but not kept, so the set stays bounded.
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if ARGV[5] ~= '1' then
  return n
end
if n >= cap then
  return cap + 1
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
return n + 1
