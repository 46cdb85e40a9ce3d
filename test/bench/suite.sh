#!/usr/bin/env bash
# The performance suite: the alternatives side by side, in one cluster and
# one run, each figure printed with its target.
#
# Three views over a 1,000,000-row table of orders in 10,000 customers:
#   agg     GROUP BY customer with count and sum (10,000 groups)
#   joined  orders joined to customers, GROUP BY region with count and sum
#   filter  a filter and projection (a tenth of the rows)
# and at the end a fourth, joined2, the same join under another aggregate,
# which shares the join's arrangements.
# and the alternatives: no view; our maintained views; plain materialized
# views over an identical table, refreshed at the end; pg_ivm's
# create_immv over a third copy if pg_ivm is installed (skipped otherwise:
# this suite never downloads or builds it).
#
#   bash test/bench/suite.sh [seconds per pgbench run, default 15]
#
# Environment: ROWS (default 1000000), INGEST_ROWS (default 2000000).
# Reports, asserts nothing.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

SECS=${1:-15}
ROWS=${ROWS:-1000000}
INGEST_ROWS=${INGEST_ROWS:-2000000}
CUSTOMERS=10000
start_bench_server 5496

# the same settings for every alternative: no checkpoint in the middle of a run
bench_no_checkpoints

IVM=$(psql_ -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_ivm'")

# orders (our views), orders_plain (no view, then plain materialized views),
# orders_ivm (pg_ivm, if installed): identical contents and indexes
tables=(orders orders_plain)
[ "$IVM" = 1 ] && tables+=(orders_ivm)
{
	echo "SET client_min_messages = warning;"
	echo "CREATE EXTENSION coordinator;"
	[ "$IVM" = 1 ] && echo "CREATE EXTENSION pg_ivm;"
	echo "CREATE TABLE customers (customer int PRIMARY KEY, region int, name text);"
	echo "INSERT INTO customers SELECT c, c % 100, 'customer ' || c FROM generate_series(0, $CUSTOMERS - 1) c;"
	for t in "${tables[@]}"; do
		echo "CREATE TABLE $t (id int, customer int, amount int);"
		echo "INSERT INTO $t SELECT i, i % $CUSTOMERS, (i::bigint * 7919 % 100003) % 1000 FROM generate_series(1, $ROWS) i;"
		echo "CREATE INDEX ON $t (id);"
	done
	echo "CREATE TABLE events (id bigint, grp int, v int);"
	echo "CREATE TABLE events_plain (id bigint, grp int, v int);"
	echo "VACUUM ANALYZE;"
	echo "CHECKPOINT;"
} | psql_ -v ON_ERROR_STOP=1 >/dev/null
# the raw heap's bytes per row, before any update leaves dead tuples
heap_row=$(psql_ -c "SELECT pg_relation_size('orders') / $ROWS::float8")

agg() { echo "SELECT customer, count(*) AS n, sum(amount) AS total FROM $1 GROUP BY customer"; }
joined() { echo "SELECT c.region, count(*) AS n, sum(o.amount) AS total FROM $1 o JOIN customers c ON o.customer = c.customer GROUP BY c.region"; }
filter() { echo "SELECT id, customer, amount * 2 AS doubled FROM $1 WHERE amount >= 900"; }

# milliseconds of each statement on stdin, one line each (psql \timing)
timings() { { echo '\timing on'; cat; } | psql_ 2>&1 | awk '/^Time:/ { print $2 }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
sum_lines() { awk '{ s += $1 } END { print s }'; }

echo "== building over $ROWS rows"
# the join + aggregate, as a plain materialized view and as ours (CREATE and
# the first read, which waits until the view is current); twice, alternating
build_plain=() build_ours=()
for round in 1 2; do
	build_plain+=("$(echo "CREATE MATERIALIZED VIEW joined_plain AS $(joined orders_plain);" | timings)")
	[ "$round" = 1 ] && psql_ -c "DROP MATERIALIZED VIEW joined_plain"
	build_ours+=("$(printf '%s\n' "SET client_min_messages = warning;" \
		"CREATE MATERIALIZED VIEW joined_v WITH (incremental) AS $(joined orders);" \
		"SELECT count(*) FROM joined_v;" | timings | sum_lines)")
	[ "$round" = 1 ] && psql_ -c "DROP MATERIALIZED VIEW joined_v"
done
bp=$(printf '%s\n' "${build_plain[@]}" | sort -n | head -1)
bo=$(printf '%s\n' "${build_ours[@]}" | sort -n | head -1)
psql_ >/dev/null <<SQL
SET client_min_messages = warning;
CREATE MATERIALIZED VIEW agg_v WITH (incremental) AS $(agg orders);
CREATE MATERIALIZED VIEW filter_v WITH (incremental) AS $(filter orders);
CREATE INDEX ON agg_v (customer);
CREATE INDEX ON filter_v (id);
SELECT count(*) FROM agg_v, filter_v WHERE false;
CREATE MATERIALIZED VIEW agg_plain AS $(agg orders_plain);
CREATE MATERIALIZED VIEW filter_plain AS $(filter orders_plain);
CREATE MATERIALIZED VIEW events_agg WITH (incremental) AS
  SELECT grp, count(*) AS n, sum(v) AS total FROM events GROUP BY grp;
SQL
if [ "$IVM" = 1 ]; then
	psql_ >/dev/null <<SQL
SELECT create_immv('agg_ivm', '$(agg orders_ivm)');
SELECT create_immv('joined_ivm', '$(joined orders_ivm)');
SELECT create_immv('filter_ivm', '$(filter orders_ivm)');
SQL
fi

# the commit-to-visible lag and the strict read wait, sampled by one client
# while pgbench writes: insert a row the filter view shows and poll it with
# non-waiting (serializable) reads every millisecond; then update it and
# time a strict read of the aggregate view
psql_ >/dev/null <<'SQL'
CREATE TABLE probe_samples (kind text, ms float8);
CREATE PROCEDURE probe(secs float8) LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	i int := 0;
	stop timestamptz := clock_timestamp() + secs * interval '1 second';
BEGIN
	WHILE clock_timestamp() < stop LOOP
		i := i + 1;
		INSERT INTO orders VALUES (-i, 0, 999);
		COMMIT;
		t0 := clock_timestamp();
		PERFORM set_config('coordinator.isolation', 'serializable', true);
		LOOP
			PERFORM 1 FROM filter_v WHERE id = -i;
			EXIT WHEN FOUND;
			PERFORM pg_sleep(0.001);
		END LOOP;
		INSERT INTO probe_samples VALUES ('lag', 1000 * extract(epoch FROM clock_timestamp() - t0));
		COMMIT;
		UPDATE orders SET amount = amount + 1 WHERE id = -i;
		COMMIT;
		t0 := clock_timestamp();
		PERFORM 1 FROM agg_v WHERE customer = 0;
		INSERT INTO probe_samples VALUES ('read', 1000 * extract(epoch FROM clock_timestamp() - t0));
		COMMIT;
		PERFORM pg_sleep(0.01);
	END LOOP;
END $$;
SQL

for t in "${tables[@]}"; do
	cat >"$DIR/update_$t.sql" <<SQL
\set id random(1, $ROWS)
UPDATE $t SET amount = amount + 1 WHERE id = :id;
SQL
	cat >"$DIR/insert_$t.sql" <<SQL
\set id random($ROWS + 1, 2000000000)
INSERT INTO $t VALUES (:id, :id % $CUSTOMERS, :id % 1000);
SQL
done
chmod a+r "$DIR"/*.sql

pgbench_tps() {
	as_pg "$PG_BIN/pgbench" -n -c 2 -j 2 -T "$SECS" -f "$DIR/$1.sql" -h "$DIR" -p "$PORT" postgres 2>/dev/null |
		awk '/^tps/ { printf "%.0f", $3 }'
}

echo "== pgbench, 2 clients, ${SECS} s per run, alternating"
pgbench_tps update_orders_plain >/dev/null # warm-up
declare -A tps
for kind in update insert; do
	for t in "${tables[@]}" "${tables[@]}"; do
		tps[$kind,$t]+=" $(pgbench_tps "${kind}_$t")"
	done
done
mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }' <<<"$1"; }

echo "== lag and read wait under load"
psql_ -c "CALL probe($SECS)" &
probe_pid=$!
tps_probe=$(pgbench_tps update_orders)
wait "$probe_pid"
read -r lag50 lag99 lagmax nlag < <(psql_ -F ' ' -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), round(max(ms)::numeric, 1), count(*) FROM probe_samples WHERE kind = 'lag'")
read -r read50 read99 nread < <(psql_ -F ' ' -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2), count(*) FROM probe_samples WHERE kind = 'read'")
psql_ -c "TRUNCATE probe_samples"
psql_ -c "CALL probe(5)"
read -r idle50 < <(psql_ -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) FROM probe_samples WHERE kind = 'read'")

echo "== one UPDATE touching $CUSTOMERS groups"
# our views: the UPDATE, then a strict read that waits until all three are
# current; plain: the UPDATE, then REFRESH of the three; median of 3
wide() {
	echo "UPDATE $1 SET amount = amount + 1 WHERE id BETWEEN $((ROWS / 2)) AND $((ROWS / 2 + CUSTOMERS - 1));"
}
wide_ours=() wide_plain=() wide_ivm=()
for _ in 1 2 3; do
	wide_ours+=("$(printf '%s\n' "$(wide orders)" "SELECT count(*) FROM agg_v, joined_v, filter_v WHERE false;" | timings | sum_lines)")
	wide_plain+=("$(printf '%s\n' "$(wide orders_plain)" "REFRESH MATERIALIZED VIEW agg_plain;" \
		"REFRESH MATERIALIZED VIEW joined_plain;" "REFRESH MATERIALIZED VIEW filter_plain;" | timings | sum_lines)")
	[ "$IVM" = 1 ] && wide_ivm+=("$(wide orders_ivm | timings)")
done
wo=$(printf '%s\n' "${wide_ours[@]}" | median)
wp=$(printf '%s\n' "${wide_plain[@]}" | median)
[ "$IVM" = 1 ] && wi=$(printf '%s\n' "${wide_ivm[@]}" | median)
refresh3=$(printf '%s\n' "REFRESH MATERIALIZED VIEW agg_plain;" "REFRESH MATERIALIZED VIEW joined_plain;" \
	"REFRESH MATERIALIZED VIEW filter_plain;" | timings | sum_lines)

echo "== ingest: $INGEST_ROWS rows in transactions of 100,000 into a table with an aggregate view"
batches=$((INGEST_ROWS / 100000))
ingest() {
	local i
	for i in $(seq 0 $((batches - 1))); do
		echo "INSERT INTO $1 SELECT g, g % 1000, g % 97 FROM generate_series($((i * 100000 + 1)), $(((i + 1) * 100000))) g;"
	done
}
# the worker's time on CPU over it (/proc/PID/schedstat, nanoseconds): how
# fast it would go if the writers were faster
ingest_plain=$(ingest events_plain | timings | sum_lines)
worker=$(psql_ -c "SELECT pid FROM coordinator.workers WHERE dataflows > 0 LIMIT 1")
cpu0=$(awk '{ print $1 }' "/proc/$worker/schedstat")
ingest_ours=$({ ingest events; echo "SELECT count(*) FROM events_agg WHERE false;"; } | timings | sum_lines)
cpu1=$(awk '{ print $1 }' "/proc/$worker/schedstat")
ingest_check=$(psql_ -c "SELECT sum(n) FROM events_agg")

# memory: the dataflows' bytes per source row, against the heap's bytes per row
# before the run
mem() { psql_ -c "SELECT dataflow_bytes FROM coordinator.dataflows WHERE object = '$1'::regclass"; }
mem_agg=$(mem agg_v) mem_joined=$(mem joined_v) mem_filter=$(mem filter_v)
nrows=$(psql_ -c "SELECT count(*) FROM orders")

# a second join + aggregate over the same join: it shares both of the
# join's arrangements (shared.c); the memory that is its own is its
# dataflow's (which counts shared arrangements in full) minus those
joined2() { echo "SELECT c.region, avg(o.amount) AS mean FROM $1 o JOIN customers c ON o.customer = c.customer GROUP BY c.region"; }
psql_ >/dev/null <<SQL
SET client_min_messages = warning;
CREATE MATERIALIZED VIEW joined2_v WITH (incremental) AS $(joined2 orders);
SELECT count(*) FROM joined2_v;
UPDATE orders SET amount = amount + 1 WHERE id = 1;
SELECT count(*) FROM joined2_v;
SQL
read -r mem_own mem_shared shared_by < <(psql_ -F ' ' -c "
  SELECT d.dataflow_bytes - s.bytes, s.bytes, s.readers
    FROM coordinator.dataflows d,
         LATERAL (SELECT coalesce(sum(bytes) FILTER (WHERE shared_by > 1), 0) AS bytes,
                         string_agg(shared_by::text, '+' ORDER BY arrangement) AS readers
                    FROM coordinator.arrangements a
                   WHERE a.object = d.object AND a.arrangement LIKE 'join%') s
   WHERE d.object = 'joined2_v'::regclass")

# every view equals its query after all of it
check=0
for v in agg joined filter joined2; do
	d=$(psql_ -c "SELECT (SELECT count(*) FROM (TABLE ${v}_v EXCEPT ALL $($v orders)) a) + (SELECT count(*) FROM ($($v orders) EXCEPT ALL TABLE ${v}_v) b)")
	check=$((check + d))
done

echo
echo "## Results ($ROWS rows, $(nproc) cores, $(date -u +%Y-%m-%d))"
echo
echo "| figure | target | measured | |"
echo "|---|---|---|---|"
row() { printf '| %s | %s | %s | %s |\n' "$@"; }
ok() { awk "BEGIN { exit !($1) }" && echo met || echo "not met"; }
for kind in update insert; do
	p=$(mean "${tps[$kind,orders_plain]}") o=$(mean "${tps[$kind,orders]}")
	r=$(awk -v o="$o" -v p="$p" 'BEGIN { printf "%.2f", o / p }')
	row "single-row $kind throughput, three views / no view (pgbench, 2 clients)" "at least 0.90" \
		"$r ($o / $p tps)" "$(ok "$r >= 0.90")"
	if [ "$IVM" = 1 ]; then
		i=$(mean "${tps[$kind,orders_ivm]}")
		row "... pg_ivm, three views / no view" "" "$(awk -v i="$i" -v p="$p" 'BEGIN { printf "%.2f", i / p }') ($i tps)" ""
	fi
done
row "commit-to-visible lag under that load ($tps_probe tps, $nlag samples)" "p50 < 20 ms, p99 < 100 ms" \
	"p50 $lag50 ms, p99 $lag99 ms, max $lagmax ms" "$(ok "$lag50 < 20 && $lag99 < 100")"
row "strict read right after a write, under that load ($nread samples)" "p50 < 5 ms" \
	"p50 $read50 ms, p99 $read99 ms" "$(ok "$read50 < 5")"
row "strict read right after a write, no other load" "p50 < 5 ms" "p50 $idle50 ms" "$(ok "$idle50 < 5")"
row "build join + aggregate over $ROWS rows, ours / CREATE MATERIALIZED VIEW (best of 2)" "at most 1.5x" \
	"$(awk -v o="$bo" -v p="$bp" 'BEGIN { printf "%.2fx (%.0f / %.0f ms)", o / p, o, p }')" "$(ok "$bo <= 1.5 * $bp")"
row "one UPDATE of $CUSTOMERS groups until the three views are current, vs UPDATE + REFRESH of the three (median of 3)" "faster" \
	"$(awk -v o="$wo" -v p="$wp" 'BEGIN { printf "%.0f ms vs %.0f ms (%.1fx faster)", o, p, p / o }')" "$(ok "$wo < $wp")"
[ "$IVM" = 1 ] && row "... pg_ivm, the UPDATE (views maintained in it)" "" "$wi ms" ""
row "ingest into an aggregate view, one worker ($INGEST_ROWS rows, until current)" "at least 200,000 rows/s" \
	"$(awk -v n="$INGEST_ROWS" -v t="$ingest_ours" -v p="$ingest_plain" -v c="$((cpu1 - cpu0))" 'BEGIN { printf "%.0f rows/s; the INSERTs alone, no view: %.0f rows/s; the worker: %.0f rows per second on CPU", n / t * 1000, n / p * 1000, n / c * 1e9 }')" \
	"$(ok "$INGEST_ROWS / $ingest_ours * 1000 >= 200000")"
for v in agg joined filter; do
	m=$(eval echo "\$mem_$v")
	row "dataflow memory per source row, $v (heap: $(printf '%.1f' "$heap_row") bytes per row)" "at most 2x" \
		"$(awk -v m="$m" -v n="$nrows" -v h="$heap_row" 'BEGIN { printf "%.1f bytes, %.2fx (%.1f MB)", m / n, m / n / h, m / 1048576 }')" \
		"$(ok "$m / $nrows <= 2 * $heap_row")"
done
row "dataflow memory of a second join + aggregate over the same join, its own per source row (joins reading its two arrangements: $shared_by)" "shared" \
	"$(awk -v o="$mem_own" -v s="$mem_shared" -v n="$nrows" 'BEGIN { printf "%.1f bytes (%.1f MB); it reads %.1f MB of shared arrangements", o / n, o / 1048576, s / 1048576 }')" \
	"$(ok "$mem_own < 0.1 * $mem_joined")"
echo
echo "Plain materialized views: writers at the no-view rate, stale until a REFRESH of the three, which took $(printf '%.0f' "$refresh3") ms at the end."
[ "$IVM" = 1 ] || echo "pg_ivm: not installed on this server, skipped (this suite does not download or build it)."
echo "Ingest check: the aggregate view counts $ingest_check rows (expected $INGEST_ROWS)."
echo "The four views differ from their queries in $check rows after the run."
