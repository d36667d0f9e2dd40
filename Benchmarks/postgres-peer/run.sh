#!/usr/bin/env bash
# The peer for `khata bench`: posts uniformly random double-entry transfers into a plain
# PostgreSQL schema with the server's default durability (fsync on, synchronous_commit on) and
# prints durable transfers per second in two forms:
#   single   one transfer per transaction, 8 clients (pgbench -c 8 -j 2)
#   batched  1,000 transfers per transaction, applied set-based, 8 clients
# With --khata TRANSFERS_PER_S it also prints Khata's figure divided by each of them.
# Starts a throwaway PostgreSQL exactly like scripts/test.sh (private socket directory and a free
# port on 127.0.0.1 under a temporary directory) and always stops it and removes its files.
#
# Usage: Benchmarks/postgres-peer/run.sh [--accounts N] [--seconds S] [--khata TRANSFERS_PER_S] [--json]
set -euo pipefail

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}
die() {
    echo "error: $*" >&2
    exit 1
}

accounts=100000
seconds=30
khata=""
json=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --accounts) [[ $# -ge 2 ]] || die "--accounts needs a value"; accounts=$2; shift 2 ;;
        --accounts=*) accounts=${1#*=}; shift ;;
        --seconds) [[ $# -ge 2 ]] || die "--seconds needs a value"; seconds=$2; shift 2 ;;
        --seconds=*) seconds=${1#*=}; shift ;;
        --khata) [[ $# -ge 2 ]] || die "--khata needs a value"; khata=$2; shift 2 ;;
        --khata=*) khata=${1#*=}; shift ;;
        --json) json=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ $accounts =~ ^[0-9]+$ ]] && ((10#$accounts >= 2 && 10#$accounts <= 1000000000)) \
    || die "--accounts must be a whole number from 2 to 1000000000 (got '$accounts')"
accounts=$((10#$accounts))
[[ $seconds =~ ^[0-9]+$ ]] && ((10#$seconds >= 1)) \
    || die "--seconds must be a whole number of at least 1 (got '$seconds')"
seconds=$((10#$seconds))
if [[ -n $khata ]]; then
    [[ $khata =~ ^[0-9]+([.][0-9]+)?([eE][+]?[0-9]+)?$ ]] && awk -v k="$khata" 'BEGIN { exit !(k > 0) }' \
        || die "--khata must be a positive number of transfers per second (got '$khata')"
fi

cd "$(dirname "$0")/../.."
log() { echo "postgres-peer: $*" >&2; }

scripts/setup-debian.sh --with-postgres

source scripts/throwaway-postgres.sh
# The server's defaults are kept on purpose: fsync on, synchronous_commit on, full_page_writes on.
start_throwaway_postgres khata-pg-peer || die "PostgreSQL did not start"
trap 'exit 130' INT
trap 'exit 143' TERM
for tool in psql pgbench; do
    [[ -x $pg_bin/$tool ]] || die "$pg_bin/$tool is missing (Debian ships it in postgresql and postgresql-client)"
done
if [[ $(stat -f -c %T "$pg_root") == tmpfs ]]; then
    log "warning: $pg_root is on tmpfs, where fsync costs nothing; set TMPDIR to a folder on the real disk"
fi
port=$pg_port
log "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (files in $pg_root)"

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=khata PGDATABASE=postgres
unset PGPASSWORD PGSERVICE PGOPTIONS PGSSLMODE || true
sql() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

for setting in fsync synchronous_commit; do
    value=$(sql -c "SHOW $setting")
    [[ $value == on ]] || die "PostgreSQL runs with $setting=$value; this benchmark needs the default (on)"
done

# Fresh tables for each form, so both start from the same state.
reset_schema() {
    sql <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS transfers, accounts;
CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    debits_posted bigint NOT NULL DEFAULT 0,
    credits_posted bigint NOT NULL DEFAULT 0
);
CREATE TABLE transfers (
    id bigserial PRIMARY KEY,
    debit_account_id bigint NOT NULL,
    credit_account_id bigint NOT NULL,
    amount bigint NOT NULL,
    created_at timestamptz DEFAULT now()
);
INSERT INTO accounts (id) SELECT generate_series(1, $accounts);
VACUUM ANALYZE accounts;
VACUUM ANALYZE transfers;
CHECKPOINT;
SQL
}

# One transfer per transaction between two distinct uniformly random accounts; amounts in minor
# units from 1 to 100,000 like `khata bench`. Both balance rows are locked lower id first, so the
# 8 clients cannot deadlock.
cat >"$pg_root/single.sql" <<SQL
\\set debit random(1, $accounts)
\\set other random(1, $accounts - 1)
\\set credit case when :other >= :debit then :other + 1 else :other end
\\set amount random(1, 100000)
\\set lo least(:debit, :credit)
\\set hi greatest(:debit, :credit)
BEGIN;
UPDATE accounts
    SET debits_posted = debits_posted + CASE WHEN id = :debit THEN :amount ELSE 0 END,
        credits_posted = credits_posted + CASE WHEN id = :credit THEN :amount ELSE 0 END
    WHERE id = :lo;
UPDATE accounts
    SET debits_posted = debits_posted + CASE WHEN id = :debit THEN :amount ELSE 0 END,
        credits_posted = credits_posted + CASE WHEN id = :credit THEN :amount ELSE 0 END
    WHERE id = :hi;
INSERT INTO transfers (debit_account_id, credit_account_id, amount) VALUES (:debit, :credit, :amount);
END;
SQL

# 1,000 transfers per transaction in one statement: insert them from generate_series, aggregate
# the inserted rows per account (both sides at once: a row may be debited and credited in the
# same batch, and one statement must not update a row twice), lock the touched accounts in id
# order (FOR UPDATE after ORDER BY locks in sorted order), then apply one UPDATE.
batch=1000
cat >"$pg_root/batched.sql" <<SQL
WITH r AS (
    SELECT 1 + floor(random() * $accounts)::bigint AS debit,
           1 + floor(random() * ($accounts - 1))::bigint AS other,
           1 + floor(random() * 100000)::bigint AS amount
    FROM generate_series(1, $batch)
), t AS (
    INSERT INTO transfers (debit_account_id, credit_account_id, amount)
    SELECT debit, other + (other >= debit)::int, amount FROM r
    RETURNING debit_account_id, credit_account_id, amount
), d AS MATERIALIZED (
    SELECT id, sum(dr)::bigint AS dr, sum(cr)::bigint AS cr
    FROM (SELECT debit_account_id AS id, amount AS dr, 0::bigint AS cr FROM t
          UNION ALL
          SELECT credit_account_id, 0::bigint, amount FROM t) AS sides
    GROUP BY id
), l AS MATERIALIZED (
    SELECT id FROM accounts WHERE id IN (SELECT id FROM d) ORDER BY id FOR UPDATE
)
UPDATE accounts AS a
    SET debits_posted = a.debits_posted + d.dr, credits_posted = a.credits_posted + d.cr
    FROM d JOIN l USING (id)
    WHERE a.id = d.id;
SQL

# Runs one form; sets `tps` and `processed` from pgbench's report.
run_pgbench() {
    local form=$1 output failed
    if ! output=$("$pg_bin/pgbench" -n -M prepared -c 8 -j 2 -T "$seconds" -f "$pg_root/$form.sql" 2>&1); then
        echo "$output" >&2
        die "pgbench failed in form $form"
    fi
    echo "$output" >"$pg_root/pgbench-$form.log"
    tps=$(awk '/^tps = / { print $3; exit }' <<<"$output")
    processed=$(awk -F': *' '/^number of transactions actually processed/ { split($2, n, "/"); print n[1]; exit }' \
        <<<"$output")
    failed=$(awk -F': *' '/^number of failed transactions/ { split($2, n, " "); print n[1]; exit }' <<<"$output")
    [[ $tps =~ ^[0-9]+([.][0-9]+)?$ && $processed =~ ^[0-9]+$ ]] \
        || {
            echo "$output" >&2
            die "could not read tps and processed transactions from pgbench's report (form $form)"
        }
    if [[ -n $failed && $failed != 0 ]]; then
        echo "$output" >&2
        die "$failed transactions failed in form $form (deadlocks or errors)"
    fi
}

# The double-entry invariant: every posted debit has its credit, and both equal the transfers'
# total; and the committed transfers are at least those pgbench counted.
check_invariant() {
    local form=$1 expected=$2 row debits credits amounts count
    row=$(sql -F ' ' -c "SELECT (SELECT coalesce(sum(debits_posted), 0) FROM accounts),
                                (SELECT coalesce(sum(credits_posted), 0) FROM accounts),
                                (SELECT coalesce(sum(amount), 0) FROM transfers),
                                (SELECT count(*) FROM transfers)")
    read -r debits credits amounts count <<<"$row"
    if [[ $debits == "$credits" && $credits == "$amounts" && $count -ge $expected && $count -gt 0 ]]; then
        log "$form: invariant OK (debits = credits = transfers' amounts = $amounts" \
            "over $count transfers; pgbench counted $expected)"
    else
        die "$form: double-entry invariant violated: debits_posted $debits, credits_posted $credits," \
            "sum(amount) $amounts, $count transfers (pgbench counted $expected)"
    fi
}

log "form single: 1 transfer per transaction, 8 clients, $seconds s, $accounts accounts"
reset_schema
run_pgbench single
single_tps=$tps
check_invariant single "$processed"
single_rate=$(awk -v t="$single_tps" 'BEGIN { printf "%.0f", t }')

log "form batched: $batch transfers per transaction, 8 clients, $seconds s, $accounts accounts"
reset_schema
run_pgbench batched
batched_tps=$tps
check_invariant batched "$((processed * batch))"
batched_rate=$(awk -v t="$batched_tps" -v b="$batch" 'BEGIN { printf "%.0f", t * b }')

[[ $single_rate -gt 0 && $batched_rate -gt 0 ]] \
    || die "a form measured 0 transfers/s (single $single_rate, batched $batched_rate)"

if [[ -n $khata ]]; then
    ratio_single=$(awk -v k="$khata" -v p="$single_rate" 'BEGIN { printf "%.2f", k / p }')
    ratio_batched=$(awk -v k="$khata" -v p="$batched_rate" 'BEGIN { printf "%.2f", k / p }')
    khata_rate=$(awk -v k="$khata" 'BEGIN { printf "%.0f", k }')
fi

if $json; then
    if [[ -n $khata ]]; then
        format='{"postgres_single_transfers_per_s": %s, "postgres_batched_transfers_per_s": %s, '
        format+='"khata_transfers_per_s": %s, "ratio_single": %s, "ratio_batched": %s}\n'
        # shellcheck disable=SC2059 # the format is ours
        printf "$format" "$single_rate" "$batched_rate" "$khata_rate" "$ratio_single" "$ratio_batched"
    else
        printf '{"postgres_single_transfers_per_s": %s, "postgres_batched_transfers_per_s": %s}\n' \
            "$single_rate" "$batched_rate"
    fi
else
    echo "PostgreSQL single  (1 transfer per transaction, 8 clients):     $single_rate transfers/s"
    echo "PostgreSQL batched ($batch transfers per transaction, 8 clients): $batched_rate transfers/s"
    if [[ -n $khata ]]; then
        echo "Khata (given):                                                 $khata_rate transfers/s"
        echo "ratio Khata / PostgreSQL single:  ${ratio_single}x"
        echo "ratio Khata / PostgreSQL batched: ${ratio_batched}x"
    fi
fi
