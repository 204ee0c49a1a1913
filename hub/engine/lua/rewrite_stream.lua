-- Replace a channel log's entries with the same entries in the current layout (the
-- migration to Redis layout 3), atomically. Entries a node appended after the caller
-- read (an older node, during a rolling upgrade) are kept as they are, after them.
-- KEYS[1] the channel log stream
-- ARGV[1] the id of the newest entry the caller read
-- ARGV[2] fields per entry   ARGV[3..] per entry: its id, then its field, value pairs
-- Returns the number of entries kept as they were.
local tail = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')
redis.call('DEL', KEYS[1])
local width = tonumber(ARGV[2]) * 2
local i = 3
while i <= #ARGV do
  local args = {}
  for j = 1, width do
    args[j] = ARGV[i + j]
  end
  redis.call('XADD', KEYS[1], ARGV[i], unpack(args))
  i = i + 1 + width
end
for _, entry in ipairs(tail) do
  redis.call('XADD', KEYS[1], entry[1], unpack(entry[2]))
end
return #tail
