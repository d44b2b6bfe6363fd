-- wrk script: POST /v1/orders as a platform, each request with an
-- Idempotency-Key of its own (the run, the thread, a counter), for stores
-- whose 1-hour circle covers the drop-off. done() prints the responses by
-- status.
--   [WRK_PACE_MS=N] wrk -s create.lua URL -- KEY RUN LAT LNG STORE[,STORE...]

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  key, run, lat, lng = args[1], args[2], args[3], args[4]
  stores = {}
  for s in string.gmatch(args[5], "[^,]+") do stores[#stores + 1] = s end
  n = 0
  statuses = {}
  wrk.method = "POST"
  wrk.path = "/v1/orders"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
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
  n = n + 1
  local body = string.format(
    '{"store_id":"%s","dropoff":{"lat":%s,"lng":%s},"address":"wrk %d-%d",' ..
    '"items":[{"sku":"rice-5kg","name":"rice 5 kg","qty":1,"price_cents":3590}]}',
    stores[n % #stores + 1], lat, lng, id, n)
  wrk.headers["Idempotency-Key"] = string.format("%s-%d-%d", run, id, n)
  return wrk.format(nil, nil, nil, body)
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
