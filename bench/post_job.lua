-- wrk script: POST /v1/jobs with a distinct user per request (so routing and storage see real variety).
local thread_no = 0
function setup(thread)
  thread:set("thread_no", thread_no)
  thread_no = thread_no + 1
end

local n = 0
request = function()
  n = n + 1
  local body = string.format('{"user_id":"user-%d-%d","prompt":"bench prompt %d","tier":"%s"}',
                             thread_no, n, n % 100, (n % 4 == 0) and "hd" or "sd")
  return wrk.format("POST", "/v1/jobs", {["Content-Type"] = "application/json"}, body)
end
