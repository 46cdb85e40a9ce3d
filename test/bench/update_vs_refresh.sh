#!/usr/bin/env bash
# The cost of one single-row UPDATE on a 1,000,000-row table reaching an
# aggregate view and a join+aggregate view (the UPDATE and a strict read of
# the view that waits for it), against REFRESH MATERIALIZED VIEW of the same
# query; and the memory of the dataflows per source row.  One run, on a
# throwaway server; reports ratios, asserts nothing.
#
#   bash test/bench/update_vs_refresh.sh [rows, default 1000000]
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

ROWS=${1:-1000000}
start_bench_server 5497

# facts: ROWS rows in groups of 10 (grp) and of 1,000 (region via customers)
psql_ <<SQL
SET client_min_messages = warning;
CREATE EXTENSION coordinator;
CREATE TABLE facts (id int, grp int, cust int, amount int);
CREATE TABLE customers (cust int, name text, region int);
INSERT INTO facts SELECT i, i % ($ROWS / 10), i % ($ROWS / 10), i % 1000 FROM generate_series(1, $ROWS) i;
INSERT INTO customers SELECT c, 'customer ' || c, c % 1000 FROM generate_series(0, $ROWS / 10 - 1) c;
CREATE INDEX ON facts (id);
ALTER TABLE facts REPLICA IDENTITY FULL;
ALTER TABLE customers REPLICA IDENTITY FULL;
VACUUM ANALYZE facts, customers;
SQL

AGG="SELECT grp, count(*) AS n, sum(amount) AS total, max(amount) AS top FROM facts GROUP BY grp"
JOIN="SELECT c.cust, c.name, count(*) AS n, sum(f.amount) AS total FROM facts f JOIN customers c ON f.cust = c.cust GROUP BY c.cust, c.name"
COARSE="SELECT c.region, count(*) AS n, sum(f.amount) AS total FROM facts f JOIN customers c ON f.cust = c.cust GROUP BY c.region"

psql_ <<SQL
SET client_min_messages = warning;
CREATE MATERIALIZED VIEW agg_m WITH (incremental) AS $AGG;
CREATE MATERIALIZED VIEW join_m WITH (incremental) AS $JOIN;
CREATE MATERIALIZED VIEW coarse_m WITH (incremental) AS $COARSE;
CREATE MATERIALIZED VIEW agg_r AS $AGG;
CREATE MATERIALIZED VIEW join_r AS $JOIN;
CREATE MATERIALIZED VIEW coarse_r AS $COARSE;
CREATE INDEX ON agg_m (grp);
CREATE INDEX ON join_m (cust);
SELECT count(*) FROM agg_m; SELECT count(*) FROM join_m; SELECT count(*) FROM coarse_m;
SQL

# milliseconds of a statement, the median of N runs (psql \timing)
ms() {
	local sql=$1 n=$2
	{ echo '\timing on'; for _ in $(seq "$n"); do echo "$sql"; done; } |
		psql_ 2>/dev/null | awk '/^Time:/ { print $2 }' | sort -n |
		awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# one single-row UPDATE and a strict read of the view that waits for it
update_ms() {
	local view=$1 key=$2
	{
		echo '\timing on'
		for i in $(seq 20); do
			echo "BEGIN; UPDATE facts SET amount = amount + 1 WHERE id = $((i * 7919 % ROWS + 1)); COMMIT; SELECT count(*) FROM $view WHERE $key = -1;"
		done
	} | psql_ 2>/dev/null | awk '/^Time:/ { t += $2; if (++n % 4 == 0) { print t; t = 0 } }' |
		sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# the UPDATE alone, without any maintained view reading the table
psql_ -c "CREATE TABLE facts_plain AS SELECT * FROM facts" -c "CREATE INDEX ON facts_plain (id)" \
	-c "VACUUM ANALYZE facts_plain"
plain=$({ echo '\timing on'; for i in $(seq 20); do echo "BEGIN; UPDATE facts_plain SET amount = amount + 1 WHERE id = $((i * 7919 % ROWS + 1)); COMMIT;"; done; } |
	psql_ 2>/dev/null | awk '/^Time:/ { t += $2; if (++n % 3 == 0) { print t; t = 0 } }' |
	sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')

report() {
	local name=$1 view=$2 key=$3 refresh=$4
	local inc ref
	inc=$(update_ms "$view" "$key")
	ref=$(ms "REFRESH MATERIALIZED VIEW $refresh;" 3)
	awk -v n="$name" -v i="$inc" -v r="$ref" -v p="$plain" 'BEGIN {
		printf "%-34s update+strict read %7.2f ms (update alone %.2f ms)   REFRESH %8.1f ms   ratio %6.0fx\n",
			n, i, p, r, r / i }'
}

echo "== $ROWS source rows, one single-row UPDATE (median of 20) vs REFRESH (median of 3)"
report "aggregate, groups of 10" agg_m grp agg_r
report "join + aggregate, groups of 10" join_m cust join_r
report "join + aggregate, groups of 1,000" coarse_m region coarse_r

echo "== dataflow memory"
heap=$(psql_ -c "SELECT pg_relation_size('facts') + pg_relation_size('customers')")
srcrows=$(psql_ -c "SELECT (SELECT count(*) FROM facts) + (SELECT count(*) FROM customers)")
psql_ -F ' ' -c "SELECT object, arranged_rows, dataflow_bytes FROM coordinator.dataflows ORDER BY object::text" |
	while read -r view rows bytes; do
		awk -v v="$view" -v r="$rows" -v b="$bytes" -v h="$heap" -v s="$srcrows" 'BEGIN {
			printf "%-10s %9d rows arranged  %7.1f MB  %6.1f bytes per source row  %.2fx the source heap\n",
				v, r, b / 1048576, b / s, b / h }'
	done
echo "(source heap: $heap bytes, $srcrows rows; $(awk -v h="$heap" -v s="$srcrows" 'BEGIN { printf "%.1f", h / s }') bytes per row)"
