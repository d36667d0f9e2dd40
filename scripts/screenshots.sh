#!/usr/bin/env bash
# Retakes the review pages' screenshots shown in the README (docs/screenshots/): the browser
# test signs in, opens a run and resolves a mismatch in headless Chromium, and keeps its
# screenshots when KHATA_SCREENSHOTS names a folder.
# Usage: scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh --with-screenshot-fonts
KHATA_SCREENSHOTS="$PWD/docs/screenshots" swift test --filter ReviewPagesBrowserTests
ls -l docs/screenshots
