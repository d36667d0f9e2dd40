-- wrk script: POST /v1/transfers/batch with 1,000 single-phase transfers of 1.00 per request,
-- each with a unique id (thread number, request counter, event index). The API key comes from
-- KHATA_KEY (scope post). Count transfers/s as requests/s × 1,000.
local counter = 0
local next_thread = 0
local events = 1000
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. (os.getenv("KHATA_KEY") or "")}

function setup(thread)
    next_thread = next_thread + 1
    thread:set("thread_number", next_thread)
end

function request()
    counter = counter + 1
    local parts = {}
    for index = 1, events do
        local id = string.format("%d%09d%04d", thread_number or 0, counter, index)
        parts[index] = '{"id":"' .. id .. '","debitAccount":"a","creditAccount":"b","amount":"1.00"}'
    end
    local body = '{"transfers":[' .. table.concat(parts, ",") .. ']}'
    return wrk.format("POST", "/v1/transfers/batch", headers, body)
end

function response(status, headers, body)
    if status ~= 200 then
        io.stderr:write("status " .. status .. ": " .. body .. "\n")
    end
end
