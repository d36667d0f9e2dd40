#!/usr/bin/env bash
# Khata's main job on the embedded default: builds the release binary and runs a short storage
# benchmark in the data directory (./khata-data unless KHATA_DATA_DIR says otherwise), then
# verifies the store. Extra arguments go to `khata bench storage`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
swift build -c release --product khata
data_dir="${KHATA_DATA_DIR:-./khata-data}"
mkdir -p "$data_dir"
.build/release/khata bench storage --records 1000000 --runs 3 --dir "$data_dir/bench" "$@"
