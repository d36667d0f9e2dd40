#!/usr/bin/env bash
# Alternating before/after runs of the HTTP figures for two khata binaries on the same machine:
# for each round and each binary, a fresh data directory and server, `wrk` on POST /v1/transfers
# (the single-transfer figure) and on GET /v1/transfers/{id} (a read back from the log), then the
# server is stopped. Prints one line per run and the medians.
#
#   Benchmarks/http/alternate.sh BEFORE_KHATA AFTER_KHATA [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
before=$1
after=$2
rounds=${3:-3}
seconds=${4:-10}
port=18090
work=$(mktemp -d)
trap 'kill %1 2>/dev/null || true; rm -rf "$work"' EXIT

run() {
    local binary=$1 label=$2 data="$work/$2-$3"
    local key
    key=$("$binary" keys create --scope admin --name bench --data-dir "$data" 2>/dev/null)
    "$binary" serve --data-dir "$data" --port $port --no-scheduler --log-level warning &
    local server=$!
    for _ in $(seq 1 100); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.1; done
    for account in a b; do
        curl -sf "localhost:$port/v1/accounts" -H "Authorization: Bearer $key" \
            -d "{\"key\": \"$account\", \"currency\": \"BDT\"}" >/dev/null
    done
    curl -sf "localhost:$port/v1/transfers" -H "Authorization: Bearer $key" \
        -d '{"id": "1", "debitAccount": "a", "creditAccount": "b", "amount": "288.94"}' >/dev/null
    local post get
    post=$(KHATA_KEY=$key wrk -t2 -c64 -d"${seconds}s" -s post-transfer.lua "http://127.0.0.1:$port" |
        awk '/Requests\/sec/ {print $2}')
    get=$(KHATA_KEY=$key wrk -t2 -c64 -d"${seconds}s" -s get-transfer.lua "http://127.0.0.1:$port" |
        awk '/Requests\/sec/ {print $2}')
    kill -TERM $server
    wait $server || true
    echo "$label round $3: POST /v1/transfers $post requests/s, GET /v1/transfers/1 $get requests/s"
    echo "$label post $post" >>"$work/figures"
    echo "$label get $get" >>"$work/figures"
}

for round in $(seq 1 "$rounds"); do
    run "$before" before "$round"
    run "$after" after "$round"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
for label in before after; do
    for figure in post get; do
        values=$(awk -v l=$label -v f=$figure '$1 == l && $2 == f {print $3}' "$work/figures")
        echo "$label $figure median: $(echo "$values" | median)"
    done
done
