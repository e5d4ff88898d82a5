-- Append events to the replay stream and publish them, in one server-side step.
--
-- KEYS[1]  the stream (orchestrator_events:log)
-- ARGV[1]  the pub/sub channel (orchestrator_events)
-- ARGV[2]  approximate stream cap (MAXLEN ~)
-- ARGV[3…] events: JSON objects without an "id" field
--
-- For each event the stream entry id is chosen first, spliced into the JSON as
-- its first field, and the same bytes are both stored (field "event") and
-- published. So the stream's order is the channel's order, every live frame
-- carries its id, and a replayed frame is byte-for-byte the live one.
-- Returns the ids, in order.
local stream = KEYS[1]
local channel = ARGV[1]
local maxlen = ARGV[2]

-- The next id must be greater than the stream's last generated id, which
-- survives trimming and is 0-0 when the stream does not exist.
local last_ms, last_seq = 0, -1
if redis.call('EXISTS', stream) == 1 then
  local info = redis.call('XINFO', 'STREAM', stream)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local ms, seq = string.match(info[i + 1], '^(%d+)-(%d+)$')
      last_ms, last_seq = tonumber(ms), tonumber(seq)
      break
    end
  end
end

local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local ids = {}
for i = 3, #ARGV do
  if now_ms > last_ms then
    last_ms, last_seq = now_ms, 0
  else
    last_seq = last_seq + 1
  end
  local id = string.format('%d-%d', last_ms, last_seq)
  local body = ARGV[i]
  local frame
  if body == '{}' then
    frame = '{"id":"' .. id .. '"}'
  else
    frame = '{"id":"' .. id .. '",' .. string.sub(body, 2)
  end
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, id, 'event', frame)
  redis.call('PUBLISH', channel, frame)
  ids[#ids + 1] = id
end
return ids
