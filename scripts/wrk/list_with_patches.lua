-- The 100-movie list under a 90/10 read/write mix: nine GET /api/movies, then one PATCH of one
-- of the movies (genres only), each PATCH a different movie of IDS_FILE. TOKEN comes from the
-- environment.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do
  ids[#ids + 1] = line
end
local threads = 0
function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end

local sent = 0
request = function()
  sent = sent + 1
  if sent % 10 ~= 0 then
    return wrk.format("GET", "/api/movies")
  end
  local id = ids[(offset + sent / 10) % #ids + 1]
  local body = string.format('{"genres":["Drama","Bench %d"]}', sent % 7)
  return wrk.format("PATCH", "/api/movies/" .. id,
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("TOKEN") }, body)
end
