#!/usr/bin/env bash
# Fuzzes the running API with Schemathesis against the OpenAPI document it serves at /docs:
# builds khata, starts `khata serve` on a scratch data directory with an admin key, a merchant
# account and webhook secrets, runs Schemathesis (installed from PyPI when missing) with the
# given extra arguments, and stops the server. Exits non-zero when Schemathesis finds a 5xx, a
# response that breaks its schema, or another failed check.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v st >/dev/null || python3 -m pip install --quiet schemathesis
swift build --product khata >/dev/null
khata=.build/debug/khata
data=$(mktemp -d)
log=$data/serve.log
server=""
cleanup() {
    if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$data"
}
trap cleanup EXIT

key=$("$khata" keys create --scope admin --name schemathesis --data-dir "$data" 2>/dev/null)
"$khata" accounts create --key merchant:SVC-456 --data-dir "$data" >/dev/null
export KHATA_WEBHOOKS_BKASH_SECRET=schemathesis-bkash-secret-0123
KHATA_DATA_DIR=$data "$khata" serve --port 0 --log-format json 2>"$log" &
server=$!
port=""
for _ in $(seq 1 200); do
    port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$log" 2>/dev/null | head -1 | cut -d: -f2 || true)
    [[ -n $port ]] && break
    if ! kill -0 "$server" 2>/dev/null; then cat "$log" >&2; exit 1; fi
    sleep 0.05
done
[[ -n $port ]] || { echo "the server did not report its port" >&2; cat "$log" >&2; exit 1; }

# KHATA_SCHEMATHESIS_CHECKS replaces the checks (e.g. adding positive_data_acceptance).
default_checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
st run "http://127.0.0.1:$port/docs" --url "http://127.0.0.1:$port" \
    --header "Authorization: Bearer $key" \
    --checks "${KHATA_SCHEMATHESIS_CHECKS:-$default_checks}" \
    --seed 20261129 "$@"
