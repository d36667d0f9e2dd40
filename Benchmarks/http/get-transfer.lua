-- wrk script: GET /v1/transfers/{id} for one committed transfer, so that every request reads the
-- transfer's record back from the log (and verifies its checksum). The API key comes from the
-- environment variable KHATA_KEY (scope read), the id from KHATA_TRANSFER_ID (default 1).
local headers = {["Authorization"] = "Bearer " .. (os.getenv("KHATA_KEY") or "")}
local path = "/v1/transfers/" .. (os.getenv("KHATA_TRANSFER_ID") or "1")

function request()
    return wrk.format("GET", path, headers)
end
