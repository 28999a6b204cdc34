-- POST /api/movies with a unique name per request; TOKEN and RUN come from the environment.
local threads = 0
function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

local sent = 0
request = function()
  sent = sent + 1
  -- Every field of the record, as a client filling in a movie sends it.
  local body = string.format('{"name":"bench %s %d-%d","year":1995,"runtime":120,"casts":["Bench Actor"],'
    .. '"directors":["Bench Director"],"genres":["Bench"],"overview":"A benchmark movie about throughput."}',
    os.getenv("RUN"), thread_id, sent)
  return wrk.format("POST", "/api/movies",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("TOKEN") }, body)
end
