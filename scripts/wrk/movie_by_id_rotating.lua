-- GET /api/movies/{id} over many movies in turn, as clients read them (one id read by every
-- connection at once is what request coalescing makes cheap; different ids are the real load).
-- IDS_FILE names a file of movie ids, one a line.
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
  return wrk.format("GET", "/api/movies/" .. ids[(offset + sent) % #ids + 1])
end
