# Sourced by scripts/test.sh and Benchmarks/postgres-peer/run.sh, not run on its own.
#
# start_throwaway_postgres LABEL [SERVER_SETTING...]
#   Starts PostgreSQL from Debian's package on 127.0.0.1 at a free port, with its files and socket
#   in a new directory under $TMPDIR (or /tmp) named after LABEL, and makes sure the server is
#   stopped and the directory removed when the calling script exits. Extra arguments are server
#   settings (e.g. "-c fsync=off"). Sets pg_bin, pg_root and pg_port; the role is khata, trusted.

stop_throwaway_postgres() {
    if [[ -n ${pg_root:-} ]]; then
        "${pg_as_owner[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$pg_root"
    fi
}

start_throwaway_postgres() {
    local label=$1
    shift
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) || true
    if [[ -z $pg_bin || ! -x $pg_bin/postgres ]]; then
        echo "error: no PostgreSQL server under /usr/lib/postgresql/*/bin (Debian package postgresql)" >&2
        return 1
    fi
    # Checked explicitly: callers may run this under `|| die`, where `set -e` does not apply.
    pg_root=$(mktemp -d "${TMPDIR:-/tmp}/$label.XXXXXX") || return 1
    pg_as_owner=()
    if [[ $(id -u) -eq 0 ]]; then
        # initdb refuses to run as root: the server runs as the postgres user Debian creates.
        chown postgres: "$pg_root" || return 1
        pg_as_owner=(runuser -u postgres --)
    fi
    trap stop_throwaway_postgres EXIT

    pg_port=$((20000 + RANDOM % 20000))
    while (exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null; do
        pg_port=$((20000 + RANDOM % 20000))
    done

    if ! "${pg_as_owner[@]}" "$pg_bin/initdb" -D "$pg_root/data" -U khata -A trust -E UTF8 --no-sync \
        >"$pg_root/initdb.log" 2>&1; then
        cat "$pg_root/initdb.log" >&2
        return 1
    fi
    if ! "${pg_as_owner[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" -l "$pg_root/server.log" -w \
        -o "-k $pg_root -p $pg_port -c listen_addresses=127.0.0.1 $*" start >/dev/null; then
        cat "$pg_root/server.log" >&2
        return 1
    fi
}
