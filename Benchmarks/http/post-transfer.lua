-- wrk script: POST /v1/transfers with a unique id per request (thread number in the high
-- digits, a counter below), single-phase transfers of 1.00 between two accounts. The API key
-- comes from the environment variable KHATA_KEY (scope post).
-- `thread_number` is a global: setup() sets it in each thread's own Lua state.
local counter = 0
local next_thread = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. (os.getenv("KHATA_KEY") or "")}

function setup(thread)
    next_thread = next_thread + 1
    thread:set("thread_number", next_thread)
end

function request()
    counter = counter + 1
    local id = string.format("%d%012d", thread_number or 0, counter)
    local body = '{"id": "' .. id .. '", "debitAccount": "a", "creditAccount": "b", "amount": "1.00"}'
    return wrk.format("POST", "/v1/transfers", headers, body)
end
