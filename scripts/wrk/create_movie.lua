-- POST /api/movies with a unique name per request; TOKEN and RUN come from the environment.
local threads = 0
function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

local sent = 0
request = function()
  sent = sent + 1
  local body = string.format('{"name":"bench %s %d-%d","casts":["Bench Actor"],"genres":["Bench"]}',
    os.getenv("RUN"), thread_id, sent)
  return wrk.format("POST", "/api/movies",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("TOKEN") }, body)
end
