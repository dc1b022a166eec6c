-- wrk script: POST /v1/images/generations in OpenAI's shape, a distinct user and prompt per request.
-- AUTH (environment) adds "Authorization: Bearer <AUTH>" (the fake provider wants its key).
local auth = os.getenv("AUTH")
local n = 0
request = function()
  n = n + 1
  local headers = {["Content-Type"] = "application/json"}
  if auth and auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
  local body = string.format('{"model":"gpt-image-1","prompt":"bench prompt %d","user":"user-%d","n":1}', n, n)
  return wrk.format("POST", "/v1/images/generations", headers, body)
end
