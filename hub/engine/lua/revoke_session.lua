-- Revoke one session and log the revocation, once.
-- KEYS[1] session hash   KEYS[2] revocation list
-- ARGV[1] time (JSON number)   ARGV[2] revocation record (JSON)
-- Returns the revocation seq, or 0 if unknown or already revoked.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = redis.call('HGET', KEYS[1], 'revoked_at')
if current and current ~= 'null' then return 0 end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
return redis.call('RPUSH', KEYS[2], ARGV[2])
