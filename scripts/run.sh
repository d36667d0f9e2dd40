#!/usr/bin/env bash
# Khata's main job on the embedded default, until the end-to-end demo exists: builds the release
# binary, then measures the ledger engine (`khata bench`) and the segment store beneath it
# (`khata bench storage`) in the data directory (./khata-data unless KHATA_DATA_DIR says
# otherwise), printing their figures. Extra arguments go to both benchmarks (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
swift build -c release --product khata
data_dir="${KHATA_DATA_DIR:-./khata-data}"
mkdir -p "$data_dir"
.build/release/khata bench --accounts 100000 --transfers 1000000 --dir "$data_dir/bench-ledger" "$@"
.build/release/khata bench storage --records 1000000 --runs 3 --dir "$data_dir/bench-storage" "$@"
