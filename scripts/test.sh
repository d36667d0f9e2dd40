#!/usr/bin/env bash
# Runs the whole test suite: installs missing Debian packages, starts a throwaway PostgreSQL on
# a private socket directory and a free port under a temporary directory, runs `swift test`,
# and always stops the server and removes its files.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh --with-postgres

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_root=$(mktemp -d "${TMPDIR:-/tmp}/khata-pg.XXXXXX")
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
    # initdb refuses to run as root: the server runs as the postgres user Debian creates.
    chown postgres: "$pg_root"
    as_owner=(runuser -u postgres --)
fi

stop_postgres() {
    "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_root"
}
trap stop_postgres EXIT

port=$((20000 + RANDOM % 20000))
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((20000 + RANDOM % 20000))
done

"${as_owner[@]}" "$pg_bin/initdb" -D "$pg_root/data" -U khata -A trust -E UTF8 --no-sync >"$pg_root/initdb.log" 2>&1 \
    || { cat "$pg_root/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" -l "$pg_root/server.log" -w \
    -o "-k $pg_root -p $port -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
    || { cat "$pg_root/server.log" >&2; exit 1; }
export KHATA_TEST_DATABASE_URL="postgresql://khata@127.0.0.1:$port/postgres"
echo "Test PostgreSQL on 127.0.0.1:$port (files in $pg_root)" >&2

swift build --build-tests
swift test --skip-build --parallel "$@"
