-- Create or replace an operation record and append its event, atomically,
-- then publish the event to the operation's shard channel.
-- KEYS[1] record hash (doc, version)   KEYS[2] operation meta hash (last_seq)
-- KEYS[3] operation event stream       KEYS[4] idempotency key
-- KEYS[5] the operation's index set of this kind
-- ARGV[1] expected version ('' = create)  ARGV[2] record JSON  ARGV[3] kind
-- ARGV[4] action  ARGV[5] record id  ARGV[6] actor  ARGV[7] ts  ARGV[8] event data JSON
-- ARGV[9] shard channel  ARGV[10] '1' if KEYS[4] is used  ARGV[11] idempotency window (s)
-- ARGV[12] operation id
-- Returns {'ok', seq, version} | {'dup', seq} | {'conflict', current version} | {'missing'}
if ARGV[10] == '1' then
  local seen = redis.call('GET', KEYS[4])
  if seen then return {'dup', tonumber(seen)} end
end
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '' then
  if current then return {'conflict', tonumber(current)} end
else
  if not current then return {'missing'} end
  if tonumber(current) ~= tonumber(ARGV[1]) then return {'conflict', tonumber(current)} end
end
local version = (tonumber(current) or 0) + 1
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'version', version)
redis.call('SADD', KEYS[5], ARGV[5])
local seq = redis.call('HINCRBY', KEYS[2], 'last_seq', 1)
redis.call('XADD', KEYS[3], seq .. '-1', 'kind', ARGV[3], 'action', ARGV[4],
  'record_id', ARGV[5], 'version', version, 'actor', ARGV[6], 'ts', ARGV[7], 'data', ARGV[8])
if ARGV[10] == '1' then
  redis.call('SET', KEYS[4], seq, 'EX', tonumber(ARGV[11]))
end
redis.call('SPUBLISH', ARGV[9], cmsgpack.pack({'e', ARGV[12], seq, ARGV[3], ARGV[4], ARGV[5],
  version, ARGV[6], tonumber(ARGV[7]), ARGV[8]}))
return {'ok', seq, version}
