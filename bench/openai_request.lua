-- wrk script: POST /v1/images/generations in OpenAI's shape, a distinct user and prompt per request across all of
-- wrk's threads (each thread runs its own copy of this script: a bare counter repeated every prompt once per
-- thread, and the repeats answered from the result cache or overwrote an image file already written).
-- AUTH (environment) adds "Authorization: Bearer <AUTH>" (the fake provider wants its key).
local threads = 0
function setup(thread) -- runs once per thread, in wrk's main script, before the threads start
  thread:set("thread_id", threads)
  threads = threads + 1
end

local auth = os.getenv("AUTH")
-- RUN (environment) makes this run's prompts and users its own: without it a second run repeats the first one's
-- ("bench prompt 0-1", ...), answered from the result cache or writing images already stored
local run = os.getenv("RUN") or ""
local n = 0
request = function()
  n = n + 1
  local id = string.format("%s%d-%d", run, thread_id or 0, n) -- thread_id: set by setup() in this thread's copy
  local headers = {["Content-Type"] = "application/json"}
  if auth and auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
  local body = string.format('{"model":"gpt-image-1","prompt":"bench prompt %s","user":"user-%s","n":1}', id, id)
  return wrk.format("POST", "/v1/images/generations", headers, body)
end
