-- PATCH /api/movies/{MOVIE_ID} (genres only); TOKEN and MOVIE_ID come from the environment.
local sent = 0
request = function()
  sent = sent + 1
  local body = string.format('{"genres":["Bench %d"]}', sent % 10)
  return wrk.format("PATCH", "/api/movies/" .. os.getenv("MOVIE_ID"),
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("TOKEN") }, body)
end
