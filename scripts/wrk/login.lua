-- POST /api/auth/login with the benchmark account.
request = function()
  return wrk.format("POST", "/api/auth/login", { ["Content-Type"] = "application/json" },
    '{"email":"bench@example.com","password":"benchmark password"}')
end
