#!/usr/bin/env bash
# The cost of one single-row UPDATE on a 1,000,000-row table reaching an
# aggregate view and a join+aggregate view, against REFRESH MATERIALIZED
# VIEW of the same query, two ways: the UPDATE and a strict read of the view
# that waits for it (latency, which includes the UPDATE itself and a round
# trip), and the CPU time the dataflow worker spends per change (the cost of
# maintaining the view); and the memory of the dataflow per source row.
# Each view is measured alone.  One run, on a throwaway server; reports
# ratios, asserts nothing.
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
CREATE MATERIALIZED VIEW agg_r AS $AGG;
CREATE MATERIALIZED VIEW join_r AS $JOIN;
CREATE MATERIALIZED VIEW coarse_r AS $COARSE;
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

# microseconds of CPU the dataflow worker spends per change: N single-row
# UPDATEs, each its own transaction, then a strict read that waits for the
# last; the worker's time on CPU (/proc/PID/schedstat, nanoseconds) over N
worker_cpu_us() {
	local view=$1 n=500 pid before after
	pid=$(psql_ -c "SELECT pid FROM coordinator.workers WHERE dataflows > 0 LIMIT 1")
	psql_ -c "SELECT count(*) FROM $view" >/dev/null
	before=$(awk '{ print $1 }' "/proc/$pid/schedstat")
	for i in $(seq "$n"); do
		echo "UPDATE facts SET amount = amount + 1 WHERE id = $((i * 104729 % ROWS + 1));"
	done | psql_ >/dev/null
	psql_ -c "SELECT count(*) FROM $view" >/dev/null
	after=$(awk '{ print $1 }' "/proc/$pid/schedstat")
	awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n / 1000 }'
}

# the UPDATE alone, without any maintained view reading the table
psql_ -c "CREATE TABLE facts_plain AS SELECT * FROM facts" -c "CREATE INDEX ON facts_plain (id)" \
	-c "VACUUM ANALYZE facts_plain"
plain=$({ echo '\timing on'; for i in $(seq 20); do echo "BEGIN; UPDATE facts_plain SET amount = amount + 1 WHERE id = $((i * 7919 % ROWS + 1)); COMMIT;"; done; } |
	psql_ 2>/dev/null | awk '/^Time:/ { t += $2; if (++n % 3 == 0) { print t; t = 0 } }' |
	sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')

heap=$(psql_ -c "SELECT pg_relation_size('facts') + pg_relation_size('customers')")
srcrows=$(psql_ -c "SELECT (SELECT count(*) FROM facts) + (SELECT count(*) FROM customers)")

# each view alone (the worker maintains only it), then dropped
report() {
	local name=$1 query=$2 key=$3 refresh=$4
	local inc ref cpu mem
	psql_ -c "SET client_min_messages = warning" \
		-c "CREATE MATERIALIZED VIEW bench_m WITH (incremental) AS $query" \
		-c "CREATE INDEX ON bench_m ($key)" -c "SELECT count(*) FROM bench_m" >/dev/null
	inc=$(update_ms bench_m "$key")
	cpu=$(worker_cpu_us bench_m)
	mem=$(psql_ -c "SELECT dataflow_bytes FROM coordinator.dataflows WHERE object = 'bench_m'::regclass")
	psql_ -c "DROP MATERIALIZED VIEW bench_m"
	ref=$(ms "REFRESH MATERIALIZED VIEW $refresh;" 3)
	awk -v n="$name" -v i="$inc" -v c="$cpu" -v r="$ref" -v m="$mem" -v h="$heap" -v s="$srcrows" 'BEGIN {
		printf "| %s | %.2f ms | %.0f us | %.0f ms | %.0fx | %.0fx | %.1f MB, %.0f bytes per source row, %.2fx the heap |\n",
			n, i, c, r, r / i, r * 1000 / c, m / 1048576, m / s, m / h }'
}

echo "== $ROWS source rows; each view alone; UPDATE alone (no view reads the table): $plain ms"
echo "| view | UPDATE + strict read (median of 20) | worker CPU per change (500 changes) | REFRESH (median of 3) | REFRESH / (UPDATE + read) | REFRESH / worker CPU | dataflow memory |"
echo "|---|---|---|---|---|---|---|"
report "aggregate (count, sum, max), groups of 10" "$AGG" grp agg_r
report "join + aggregate (count, sum), groups of 10" "$JOIN" cust join_r
report "join + aggregate (count, sum), groups of 1,000" "$COARSE" region coarse_r
echo "(source heap: $heap bytes, $srcrows rows; $(awk -v h="$heap" -v s="$srcrows" 'BEGIN { printf "%.1f", h / s }') bytes per row)"
