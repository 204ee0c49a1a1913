-- Count a connection of a user across every hub process, up to a limit.
-- KEYS[1]: the user's sorted set of connections (member "<node>:<conn>", score = expiry).
-- ARGV[1]: now, ARGV[2]: the entry's expiry, ARGV[3]: the limit, ARGV[4]: the member,
-- ARGV[5]: key TTL in ms.
-- Entries of a process that died are not refreshed and stop counting at their expiry.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
