#!/usr/bin/env bash
# The review pages of a run of many mismatches, timed over HTTP: records the run with
# `khata bench review --keep` (the embedded store), serves it with `khata serve` on 127.0.0.1,
# signs in as a finance reviewer and measures each page with wrk, one connection at a time, so
# that the figure is one reader's latency, not a queue's. Prints wrk's median (50%) and 99%.
# Usage: scripts/bench-review-http.sh [MISMATCHES] [SECONDS_PER_PAGE]
set -euo pipefail
cd "$(dirname "$0")/.."
mismatches="${1:-100000}"
seconds="${2:-10}"
command -v wrk >/dev/null || { echo "wrk is needed (Debian: apt-get install wrk)" >&2; exit 1; }
swift build -c release --product khata >&2
khata="$PWD/.build/release/khata"
work="$(mktemp -d)"
port=18089
base="http://127.0.0.1:$port"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$khata" bench review --mismatches "$mismatches" --runs 1 --dir "$work/data" --keep
key="$("$khata" keys create --data-dir "$work/data" --scope read --scope finance --name bench --json |
    sed -n 's/.*"key" *: *"\([^"]*\)".*/\1/p')"
[ -n "$key" ] || { echo "no key was created" >&2; exit 1; }
"$khata" serve --data-dir "$work/data" --port "$port" --log-level warning >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    curl -fsS -o /dev/null "$base/health" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.2
done

# Signing in: the form's token must match its cookie; the answer sets the session cookie.
jar="$work/cookies"
form="$(curl -fsS -c "$jar" "$base/ui/sign-in")"
csrf="$(printf '%s' "$form" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)"
curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf=$csrf" --data-urlencode "next=/ui/runs" \
    --data-urlencode "key=$key" "$base/ui/sign-in"
session="$(awk '$6 == "khata_session" { print $6 "=" $7 }' "$jar" | tail -1)"
[ -n "$session" ] || { echo "signing in did not give a session cookie" >&2; exit 1; }

measure() {
    local label="$1" path="$2"
    shift 2
    curl -fsS -o /dev/null "$@" "$base$path" || { echo "$label: $path did not answer 200" >&2; exit 1; }
    local out
    out="$(wrk -t1 -c1 -d"${seconds}s" --latency "$@" "$base$path")"
    local median p99 requests
    median="$(printf '%s\n' "$out" | awk '$1 == "50%" { print $2 }')"
    p99="$(printf '%s\n' "$out" | awk '$1 == "99%" { print $2 }')"
    requests="$(printf '%s\n' "$out" | awk '/requests in/ { print $1 }')"
    printf '%-36s median %-9s 99%% %-9s (%s requests)\n' "$label" "$median" "$p99" "$requests"
}

echo "$mismatches mismatches, one connection, ${seconds} s per page:"
measure "run page /ui/runs/1" /ui/runs/1 -H "Cookie: $session"
measure "first page /ui/runs/1/mismatches" /ui/runs/1/mismatches -H "Cookie: $session"
measure "API first page of 100" "/v1/reconciliation/runs/1/mismatches?limit=100" -H "Authorization: Bearer $key"
