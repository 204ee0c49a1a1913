-- Append one chat message: idempotency check, seq assignment, stream append,
-- retention and the cross-node publish, atomically.
-- KEYS[1] channel hash (last_seq, first_seq)   KEYS[2] channel log stream
-- KEYS[3] idempotency key for (sender, client_msg_id)
-- ARGV[1] shard channel to publish on   ARGV[2] retention (0 = keep all)
-- ARGV[3] idempotency window, seconds   ARGV[4..12] id, sender_id, sender,
--         sender_name, agency, text, ts, priority, client_msg_id   ARGV[13] channel id
-- ARGV[14] the message's own label (JSON; empty: its channel's)
-- ARGV[15] "1" for a real-world message in an exercise, else ""
-- Returns {seq, 1} when stored now, {seq, 0} for a retry of a stored message,
-- {-1, 0} when the channel does not exist.
local existing = redis.call('GET', KEYS[3])
if existing then
  return {tonumber(existing), 0}
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1, 0}
end
local seq = redis.call('HINCRBY', KEYS[1], 'last_seq', 1)
redis.call('XADD', KEYS[2], seq .. '-1',
  'id', ARGV[4], 'sender_id', ARGV[5], 'sender', ARGV[6], 'sender_name', ARGV[7],
  'agency', ARGV[8], 'text', ARGV[9], 'ts', ARGV[10], 'priority', ARGV[11],
  'client_msg_id', ARGV[12], 'label', ARGV[14], 'real_world', ARGV[15])
redis.call('SET', KEYS[3], seq, 'EX', tonumber(ARGV[3]))
local retain = tonumber(ARGV[2])
if retain > 0 and seq > retain then
  local first = seq - retain + 1
  redis.call('XTRIM', KEYS[2], 'MINID', first .. '-0')
  redis.call('HSET', KEYS[1], 'first_seq', first)
end
local payload = cmsgpack.pack({'m', ARGV[13], seq, ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8],
  ARGV[9], tonumber(ARGV[10]), ARGV[11], ARGV[12], ARGV[14], ARGV[15]})
redis.call('SPUBLISH', ARGV[1], payload)
return {seq, 1}
