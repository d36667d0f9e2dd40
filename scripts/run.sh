#!/usr/bin/env bash
# Khata's main job on the embedded default: installs the Debian packages it misses, builds the
# release binary, links it as bin/khata (what the README's examples call `khata` once bin/ is on
# PATH: export PATH="$PWD/bin:$PATH"), and runs `khata demo`: a booking day and the night after
# it, end to end, in ./khata-demo (replacing an earlier demo's folder there), with a summary
# the demo checks against the ledger before it prints. Extra arguments go to `khata demo`
# (e.g. --reservations 1000, --seed 7, --serve, --json).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
swift build -c release --product khata
mkdir -p bin
ln -sfn ../.build/release/khata bin/khata
bin/khata demo --reuse "$@"
