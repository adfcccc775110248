-- wrk script for scripts/bench: the request comes from the environment, the result is one
-- machine-readable line.
--   BENCH_METHOD (GET), BENCH_BODY (a form body), BENCH_HEADER1..4 ("Name: value")
--   BENCH_REFRESH_TOKENS: space-separated refresh tokens, one per thread (run with -c = -t):
--     each thread posts grant_type=refresh_token with its token and follows the rotation.
--     BENCH_BODY is then appended to each body (client_id=…&client_secret=…).
-- Prints: RESULT <requests> <duration_us> <p50_us> <p99_us> <non_2xx_3xx> <socket_errors>

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local headers = {}
for i = 1, 4 do
  local h = os.getenv("BENCH_HEADER" .. i)
  if h and h ~= "" then
    local name, value = h:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
end

wrk.method = method
if body and body ~= "" then
  wrk.body = body
  headers["Content-Type"] = "application/x-www-form-urlencoded"
end
wrk.headers = headers

local refresh = os.getenv("BENCH_REFRESH_TOKENS")
local tokens = {}
if refresh and refresh ~= "" then
  for t in refresh:gmatch("%S+") do
    tokens[#tokens + 1] = t
  end
end

local threads = 0
function setup(thread)
  threads = threads + 1
  if #tokens > 0 then
    thread:set("token", tokens[((threads - 1) % #tokens) + 1])
  end
end

if #tokens > 0 then
  function request()
    local extra = (body and body ~= "") and ("&" .. body) or ""
    return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token .. extra)
  end

  function response(status, _, resp_body)
    local next_token = resp_body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if next_token then
      token = next_token
    end
  end
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
