-- wrk script for scripts/bench: the request comes from the environment, the result is one
-- machine-readable line.
--   BENCH_METHOD (GET), BENCH_BODY (a form body), BENCH_HEADER1..4 ("Name: value")
--   BENCH_REFRESH_TOKENS: space-separated refresh tokens, one per thread (run with -c = -t):
--     each thread posts grant_type=refresh_token with its token and follows the rotation.
--     BENCH_BODY is then appended to each body (client_id=…&client_secret=…).
--   BENCH_PROOFS: a file prefix; thread N (from 0) sends the lines of PREFIX.N, one per
--     request, as its `DPoP` header (DPoP proofs, each accepted once: see bench-proofs). A
--     thread that runs out starts its file again (replays, refused: counted as non-2xx).
-- Prints: RESULT <requests> <duration_us> <p50_us> <p99_us> <non_2xx_3xx> <socket_errors>
--   and with BENCH_PROOFS: PROOFS <sent> <available> <replayed>

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

local proofs_prefix = os.getenv("BENCH_PROOFS")
if proofs_prefix == "" then
  proofs_prefix = nil
end

local threads = 0
local thread_list = {}
function setup(thread)
  threads = threads + 1
  thread_list[threads] = thread
  if #tokens > 0 then
    thread:set("token", tokens[((threads - 1) % #tokens) + 1])
  end
  if proofs_prefix then
    thread:set("proof_file", proofs_prefix .. "." .. (threads - 1))
  end
end

if proofs_prefix then
  local proofs = {}
  sent, available, replayed = 0, 0, 0

  function init(_)
    -- `proof_file` is set by setup() in this thread's own Lua state.
    for line in io.lines(proof_file) do
      proofs[#proofs + 1] = line
    end
    available = #proofs
  end

  function request()
    sent = sent + 1
    local i = sent
    if i > available then
      replayed = replayed + 1
      i = ((i - 1) % math.max(available, 1)) + 1
    end
    headers["DPoP"] = proofs[i]
    return wrk.format(nil, nil, headers, nil)
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
  if proofs_prefix then
    local s, a, r = 0, 0, 0
    for _, thread in ipairs(thread_list) do
      s = s + (thread:get("sent") or 0)
      a = a + (thread:get("available") or 0)
      r = r + (thread:get("replayed") or 0)
    end
    io.write(string.format("PROOFS %d %d %d\n", s, a, r))
  end
end
