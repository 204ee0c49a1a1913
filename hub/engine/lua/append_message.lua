-- Append one chat message: idempotency check, seq assignment, stream append,
-- retention and the cross-node publish, atomically. The message is an envelope and
-- an opaque body (base64 of its msgpack); no field of a body is named here.
-- KEYS[1] channel hash (last_seq, first_seq)   KEYS[2] channel log stream
-- KEYS[3] idempotency key for (sender, client_msg_id)
-- KEYS[4] channel notes hash (seq -> the notes kept beside that message)
-- ARGV[1] shard channel to publish on   ARGV[2] retention (0 = keep all)
-- ARGV[3] idempotency window, seconds   ARGV[4] channel id
-- ARGV[5..] the envelope and body as field, value pairs, in the order the broker
--           event carries the values (hub.engine.redis_operations.ENTRY_FIELDS)
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
local pairs = {}
local event = {'M', ARGV[4], seq}
for i = 5, #ARGV, 2 do
  pairs[#pairs + 1] = ARGV[i]
  pairs[#pairs + 1] = ARGV[i + 1]
  event[#event + 1] = ARGV[i + 1]
end
redis.call('XADD', KEYS[2], seq .. '-1', unpack(pairs))
redis.call('SET', KEYS[3], seq, 'EX', tonumber(ARGV[3]))
local retain = tonumber(ARGV[2])
if retain > 0 and seq > retain then
  local first = seq - retain + 1
  local dropped = tonumber(redis.call('HGET', KEYS[1], 'first_seq') or '1')
  redis.call('XTRIM', KEYS[2], 'MINID', first .. '-0')
  for s = dropped, first - 1 do
    redis.call('HDEL', KEYS[4], s)  -- a message's notes go with it
  end
  redis.call('HSET', KEYS[1], 'first_seq', first)
end
redis.call('SPUBLISH', ARGV[1], cmsgpack.pack(event))
return {seq, 1}
