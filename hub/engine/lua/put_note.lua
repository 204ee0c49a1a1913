-- Keep one note beside a message: the message's notes are one JSON object (key ->
-- base64 of the body) in the channel's notes hash, read and written here whole,
-- atomically. KEYS[1] channel notes hash   KEYS[2] channel log stream
-- ARGV[1] seq   ARGV[2] key   ARGV[3] body, base64
-- Returns 1 when kept, 0 when no such message is retained.
if #redis.call('XRANGE', KEYS[2], ARGV[1] .. '-0', ARGV[1] .. '-9', 'COUNT', 1) == 0 then
  return 0
end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local notes = {}
if raw then
  notes = cjson.decode(raw)
end
notes[ARGV[2]] = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(notes))
return 1
