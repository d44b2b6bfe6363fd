-- wrk script: GET /v1/tracking/{token}, cycling through the tokens of the
-- file given as the script's argument (one a line); each thread starts at
-- another place in the list. done() prints the responses by status.
--   [WRK_PACE_MS=N] wrk -s track.lua URL -- TOKENS_FILE

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do
    if line ~= "" then tokens[#tokens + 1] = line end
  end
  if #tokens == 0 then error("no tracking token in " .. args[1]) end
  i = (id * 7919) % #tokens
  statuses = {}
end

-- With WRK_PACE_MS set, each connection waits that many milliseconds
-- after a response before its next request, so that c connections send
-- about c * 1000 / (WRK_PACE_MS + latency) requests/s: wrk has no fixed rate
-- of its own. Unset, the connections go as fast as they can.
local pace = tonumber(os.getenv("WRK_PACE_MS") or "")
if pace and pace > 0 then
  function delay()
    return pace
  end
end

function request()
  i = i % #tokens + 1
  return wrk.format("GET", "/v1/tracking/" .. tokens[i])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do all[code] = (all[code] or 0) + n end
  end
  for code, n in pairs(all) do io.write(string.format("status %d: %d\n", code, n)) end
end
