#!/usr/bin/env bash
# Khata's headline benchmarks on the embedded default: builds the release binary, links it as
# bin/khata, then measures the ledger engine (`khata bench`) and the segment store beneath it
# (`khata bench storage`) in scratch directories under the data directory (./khata-data unless
# KHATA_DATA_DIR says otherwise), which they remove, printing their figures. Extra arguments go
# to both benchmarks (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
swift build -c release --product khata
mkdir -p bin
ln -sfn ../.build/release/khata bin/khata
data_dir="${KHATA_DATA_DIR:-./khata-data}"
mkdir -p "$data_dir"
bin/khata bench --accounts 100000 --transfers 1000000 --dir "$data_dir/bench-ledger" "$@"
bin/khata bench storage --records 1000000 --runs 3 --dir "$data_dir/bench-storage" "$@"
