#!/usr/bin/env bash
# Runs the whole test suite: installs missing Debian packages, starts a throwaway PostgreSQL on
# a private socket directory and a free port under a temporary directory, runs `swift test`,
# and always stops the server and removes its files.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh --with-postgres
source scripts/throwaway-postgres.sh
# Tests need a real server, not a durable one: fsync off keeps them quick.
start_throwaway_postgres khata-pg -c fsync=off
export KHATA_TEST_DATABASE_URL="postgresql://khata@127.0.0.1:$pg_port/postgres"
echo "Test PostgreSQL on 127.0.0.1:$pg_port (files in $pg_root)" >&2

swift build --build-tests
# At most 16 tests at once: many of them are whole servers, ledgers or child processes, and all
# 350 at once on a 2-core machine made some requests wait past their client's 20 s timeout.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-16}"
swift test --skip-build --parallel "$@"
