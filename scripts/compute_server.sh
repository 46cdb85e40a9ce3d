#!/usr/bin/env bash
# Make a Postgres server a compute server of a primary (docs/scale-out.md):
# its copies of the primary's tables are kept by a native subscription, and
# maintained views created on it read them.
#
#   bash scripts/compute_server.sh PRIMARY COMPUTE NAME TABLE...
#
# PRIMARY and COMPUTE are libpq connection strings (PRIMARY as the compute
# server reaches the primary: the subscription uses it); NAME names the
# publication on the primary and this server's subscription (and so its
# replication slot on the primary: one name per compute server); TABLE...
# are the primary's tables, schema-qualified if not in public.  Both
# servers must preload coordinator (as the README's setup does), and the
# primary needs wal_level = logical.
#
# It creates the extension on both if missing, the tables' definitions on
# the compute server (pg_dump --schema-only of those tables), the
# publication on the primary (the tables and coordinator.primary_clock,
# or adds them to it), and the subscription (initial copy, then changes;
# disabled on an apply error, so that reads after a primary's timestamp
# fail instead of waiting).  Then create views on the compute server; a
# strict read there reflects the primary's commits up to a token:
#
#   primary:  SELECT coordinator.timestamp_token();       -- after the writes
#   compute:  SET coordinator.read_after = '<token>';  SELECT ... FROM view;
set -euo pipefail

if [ $# -lt 4 ]; then
	sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
PRIMARY=$1
COMPUTE=$2
NAME=$3
shift 3
PSQL=${COORDINATOR_PG_BIN:-/usr/lib/postgresql/15/bin}/psql
PG_DUMP=${COORDINATOR_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_dump

on() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

quoted=()
dump_args=()
for t in "$@"; do
	quoted+=("$(on "$PRIMARY" -At -c "SELECT '$t'::regclass::text")")
	dump_args+=(-t "$t")
done
list=$(IFS=,; echo "${quoted[*]}")

on "$PRIMARY" -c "CREATE EXTENSION IF NOT EXISTS coordinator"
on "$COMPUTE" -c "CREATE EXTENSION IF NOT EXISTS coordinator"

# the tables, as the primary defines them (no data: the subscription copies it)
"$PG_DUMP" --schema-only --no-owner --no-privileges --no-publications \
	--no-subscriptions "${dump_args[@]}" -d "$PRIMARY" | on "$COMPUTE" >/dev/null

if [ "$(on "$PRIMARY" -At -c "SELECT count(*) FROM pg_publication WHERE pubname = '$NAME'")" = 0 ]; then
	on "$PRIMARY" -c "CREATE PUBLICATION \"$NAME\" FOR TABLE $list, coordinator.primary_clock"
else
	on "$PRIMARY" -c "ALTER PUBLICATION \"$NAME\" SET TABLE $list, coordinator.primary_clock"
fi
on "$COMPUTE" -c "CREATE SUBSCRIPTION \"$NAME\" CONNECTION \$conn\$$PRIMARY\$conn\$
	PUBLICATION \"$NAME\" WITH (disable_on_error = true)"
echo "compute server ready: subscription \"$NAME\" copies $list from the primary"
