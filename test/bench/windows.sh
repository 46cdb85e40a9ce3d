#!/usr/bin/env bash
# Window functions: the cost of one change against REFRESH MATERIALIZED
# VIEW, at several table sizes, rows in 10 partitions.  The views:
#
#   top_10    row_number() <= 10 per partition (by v)
#   lag       lag(v) over each partition in id order: every row
#   frame     sum(v) over ROWS BETWEEN 3 PRECEDING AND CURRENT ROW: every row
#   range     sum(v) over RANGE BETWEEN 100 PRECEDING AND CURRENT ROW in id
#             order (ids 10 apart in a partition: 11 rows): every row
#   running   sum(v) over the partition up to each row (the default frame)
#   average   avg(v) over the partition up to each row (the default frame)
#   suffix    sum(v) over ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING in
#             id DESC order (a running sum, from the partition's end)
#   wide      last_value(v) over the whole partition in id order
#   numbered  row_number() over each partition in v order
#   dense     dense_rank() over each partition by v / 10000: 10 peer groups
#
# For each size and view, 20 times: UPDATE the v of a random row
# (autocommit) and a strict read of one row of the view, which waits for
# the change (psql \timing); the figure is the median.  An UPDATE changes
# the running sum of every later row of its partition, and the numbers of
# the rows between the row's old and new place, legitimately (a dense rank
# changes only if a peer group empties or comes); so also, 10
# times each: INSERT a row after the last of a partition in id order, and
# DELETE it ("append"), which changes one row of lag, frame, range,
# running, average and suffix, and every row of its partition in wide (the
# last row's v is every row's value; an UPDATE elsewhere changes one row).
# REFRESH is the median of 3 REFRESH MATERIALIZED VIEW of a plain
# materialized view of the same query.  At the end each view is compared
# with its query.  One run, on a throwaway server; asserts nothing.  About
# 4 minutes at the default sizes, most of it at 1,000,000 rows.
#
#   bash test/bench/windows.sh [rows ...]     default 10000 1000000
#
# COORDINATOR_BENCH_PORT sets the server's port (default 5499);
# COORDINATOR_BENCH_VIEWS some of the views (names separated by spaces).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 1000000)
START=$SECONDS
progress() { echo "[$((SECONDS - START)) s] $*" >&2; }

start_bench_server "${COORDINATOR_BENCH_PORT:-5499}"
bench_no_checkpoints
psql_ -c "SET client_min_messages = warning" -c "CREATE EXTENSION coordinator" >/dev/null

declare -A QUERY
QUERY[top_10]="SELECT g, id, v, rn FROM (SELECT g, id, v, row_number() OVER (PARTITION BY g ORDER BY v DESC, id) AS rn FROM t) s WHERE rn <= 10"
QUERY[lag]="SELECT id, g, v, lag(v) OVER (PARTITION BY g ORDER BY id) AS prev FROM t"
QUERY[frame]="SELECT id, g, sum(v) OVER (PARTITION BY g ORDER BY id ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS s4 FROM t"
QUERY[range]="SELECT id, g, sum(v) OVER (PARTITION BY g ORDER BY id RANGE BETWEEN 100 PRECEDING AND CURRENT ROW) AS s11 FROM t"
QUERY[running]="SELECT id, g, sum(v) OVER (PARTITION BY g ORDER BY id) AS running FROM t"
QUERY[average]="SELECT id, g, avg(v) OVER (PARTITION BY g ORDER BY id) AS average FROM t"
QUERY[dense]="SELECT id, g, v, dense_rank() OVER (PARTITION BY g ORDER BY v / 10000) AS dr FROM t"
QUERY[suffix]="SELECT id, g, sum(v) OVER (PARTITION BY g ORDER BY id DESC ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS rest FROM t"
QUERY[wide]="SELECT id, g, last_value(v) OVER (PARTITION BY g ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS latest FROM t"
QUERY[numbered]="SELECT id, g, v, row_number() OVER (PARTITION BY g ORDER BY v, id) AS rn FROM t"
VIEWS=(top_10 lag frame range running average suffix wide numbered dense)
[ -z "${COORDINATOR_BENCH_VIEWS:-}" ] || read -ra VIEWS <<< "$COORDINATOR_BENCH_VIEWS"


load() {
	psql_ >/dev/null <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS t CASCADE;
CREATE TABLE t (id int PRIMARY KEY, g int, v int);
ALTER TABLE t REPLICA IDENTITY FULL;
INSERT INTO t SELECT i, i % 10, (i::bigint * 7919) % 100000 FROM generate_series(1, $1) i;
VACUUM ANALYZE t;
CHECKPOINT;
SQL
	bench_wait_decoded t
}

declare -A ROWS BUILD PLAIN REFRESH CHANGE APPEND CHECK
for n in "${SIZES[@]}"; do
	progress "== $n rows: loading"
	load "$n"
	for v in "${VIEWS[@]}"; do
		q=${QUERY[$v]}
		PLAIN[$v,$n]=$(echo -e "\\\\timing on\nCREATE MATERIALIZED VIEW plain_m AS $q;" | bench_timings)
		REFRESH[$v,$n]=$(for _ in 1 2 3; do echo -e "\\\\timing on\nREFRESH MATERIALIZED VIEW plain_m;"; done | bench_timings | bench_median)
		psql_ -c "DROP MATERIALIZED VIEW plain_m" >/dev/null
		BUILD[$v,$n]=$(echo -e "SET client_min_messages = warning;\n\\\\timing on\nCREATE MATERIALIZED VIEW m WITH (incremental) AS $q;\nSELECT count(*) FROM m;" |
			bench_timings | awk '{ t += $1 } END { print t }')
		ROWS[$v,$n]=$(psql_ -c "SELECT count(*) FROM m")
		script=""
		for _ in $(seq 20); do
			script+="UPDATE t SET v = $((RANDOM * 3 % 100000)) WHERE id = $(((RANDOM * 32768 + RANDOM) % n + 1));"$'\n'
			script+="SELECT 1 FROM m LIMIT 1;"$'\n'
		done
		CHANGE[$v,$n]=$(echo -e "\\\\timing on\n$script" | bench_timings | bench_pairs | bench_median)
		script=""
		for i in $(seq 10); do
			script+="INSERT INTO t VALUES ($((n + 100 + i * 10)), $((i % 10)), $((RANDOM % 1000)));"$'\n'"SELECT 1 FROM m LIMIT 1;"$'\n'
			script+="DELETE FROM t WHERE id = $((n + 100 + i * 10));"$'\n'"SELECT 1 FROM m LIMIT 1;"$'\n'
		done
		APPEND[$v,$n]=$(echo -e "\\\\timing on\n$script" | bench_timings | bench_pairs | bench_median)
		d=$(psql_ -c "SELECT (SELECT count(*) FROM (SELECT * FROM m EXCEPT ALL ($q)) a) + (SELECT count(*) FROM (($q) EXCEPT ALL SELECT * FROM m) b)")
		CHECK[$v,$n]=$([ "$d" = 0 ] && echo equal || echo "DIFFERS ($d rows)")
		psql_ -c "DROP MATERIALIZED VIEW m" >/dev/null
		progress "  $v: ${ROWS[$v,$n]} rows; build ${BUILD[$v,$n]} ms (plain ${PLAIN[$v,$n]}); REFRESH ${REFRESH[$v,$n]} ms; change ${CHANGE[$v,$n]} ms; append ${APPEND[$v,$n]} ms; ${CHECK[$v,$n]}"
	done
done

FIRST=${SIZES[0]}
LAST=${SIZES[-1]}
echo "== one UPDATE (change) or one INSERT or DELETE at a partition's end (append), and a strict read of the view (median ms), against REFRESH"
header="| view |"
rule="|---|"
for n in "${SIZES[@]}"; do
	header+=" change at $n rows |"
	rule+="---|"
done
header+=" growth ($LAST / $FIRST) | append at $FIRST | append at $LAST | REFRESH at $LAST | REFRESH / change | build / plain CREATE at $LAST | view = query |"
rule+="---|---|---|---|---|---|---|"
echo "$header"
echo "$rule"
for v in "${VIEWS[@]}"; do
	line="| $v |"
	for n in "${SIZES[@]}"; do
		line+=" ${CHANGE[$v,$n]} |"
	done
	line+=$(awk -v a="${CHANGE[$v,$FIRST]}" -v b="${CHANGE[$v,$LAST]}" -v r="${REFRESH[$v,$LAST]}" \
		-v bu="${BUILD[$v,$LAST]}" -v p="${PLAIN[$v,$LAST]}" \
		-v a1="${APPEND[$v,$FIRST]}" -v a2="${APPEND[$v,$LAST]}" 'BEGIN {
		printf " %.1fx | %s | %s | %.1f | %.0fx | %.1fx |", b / a, a1, a2, r, r / b, bu / p }')
	checks=""
	for n in "${SIZES[@]}"; do checks+="${CHECK[$v,$n]} "; done
	echo "$line ${checks% } |"
done
