#!/usr/bin/env bash
# Views over maintained views: three views, each reading the one below
# (stacked: the view above reads the changes of the one below), against the
# same three queries each written over the tables (expanded: every view
# computes the layers below again, as a view over a view did before it read
# the view's changes).  Over facts (N rows, groups of 10 by g2) and custs
# (N / 10 rows in 10 regions):
#
#   v1  SELECT g2, count(*) AS n, sum(amt) AS total FROM facts GROUP BY g2
#   v2  SELECT c.region, count(*) AS custs, sum(v1.total) AS total, sum(v1.n) AS n
#         FROM v1 JOIN custs c ON c.id = v1.g2 GROUP BY c.region
#   v3  SELECT max(total) AS top, sum(n) AS n FROM v2
#
# For each form: the build of each view (CREATE ... WITH (incremental) and
# its first read, which waits until it is hydrated), its dataflow memory
# (coordinator.dataflows), the cost of one change (a single-row UPDATE of
# facts and a strict read of v3, median of 20), and whether every view
# equals its query.  One run on a throwaway server; asserts nothing.
#
#   bash test/bench/stacked_views.sh [N]      default 1000000
#
# COORDINATOR_BENCH_PORT sets the server's port (default 5499).  About a
# minute at the default size on 2 cores.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

N=${1:-1000000}
REPS=20
START=$SECONDS
progress() { echo "[$((SECONDS - START)) s] $*" >&2; }

start_bench_server "${COORDINATOR_BENCH_PORT:-5499}"
progress "loading $N rows"
bench_no_checkpoints
psql_ <<SQL
SET client_min_messages = warning;
CREATE EXTENSION coordinator;
CREATE TABLE facts (id int PRIMARY KEY, g2 int, amt numeric);
INSERT INTO facts SELECT i, i / 10, round(((i::bigint * 7919) % 100000 / 100.0)::numeric, 2)
  FROM generate_series(1, $N) i;
ALTER TABLE facts REPLICA IDENTITY FULL;
CREATE TABLE custs (id int PRIMARY KEY, region text);
INSERT INTO custs SELECT i, 'r' || i % 10 FROM generate_series(0, $N / 10) i;
ALTER TABLE custs REPLICA IDENTITY FULL;
VACUUM ANALYZE facts, custs;
CHECKPOINT;
SQL

Q1="SELECT g2, count(*) AS n, sum(amt) AS total FROM facts GROUP BY g2"
q2() { echo "SELECT c.region, count(*) AS custs, sum(v1.total) AS total, sum(v1.n) AS n FROM $1 v1 JOIN custs c ON c.id = v1.g2 GROUP BY c.region"; }
q3() { echo "SELECT max(total) AS top, sum(n) AS n FROM $1 v2"; }

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
# milliseconds of the statements, summed (psql \timing)
ms() { { echo '\set ON_ERROR_STOP on'; echo '\timing on'; printf '%s\n' "$@"; } | psql_ 2>&1 | awk '/^Time:/ { t += $2 } END { print t }'; }

declare -A BUILD MEM CHANGE EQUAL

# form stacked|expanded: the queries of v1, v2, v3
run_form() {
	local form=$1 q1 q2s q3s i out
	q1=$Q1
	if [ "$form" = stacked ]; then
		q2s=$(q2 v1)
		q3s=$(q3 v2)
	else
		q2s=$(q2 "($Q1)")
		q3s=$(q3 "($(q2 "($Q1)"))")
	fi
	local queries=("$q1" "$q2s" "$q3s")
	for i in 1 2 3; do
		BUILD[$form,$i]=$(ms "SET client_min_messages = warning;" \
			"CREATE MATERIALIZED VIEW v$i WITH (incremental) AS ${queries[$((i - 1))]};" \
			"SELECT count(*) FROM v$i;")
		progress "$form: v$i built in ${BUILD[$form,$i]} ms"
	done
	for i in 1 2 3; do
		MEM[$form,$i]=$(psql_ -c "SELECT round(dataflow_bytes / 1048576.0, 1) FROM coordinator.dataflows WHERE relname = 'v$i'")
	done
	out=$({ echo '\set ON_ERROR_STOP on'; for _ in $(seq $REPS); do
		echo '\timing on'
		echo "UPDATE facts SET amt = amt + 1 WHERE id = $(((RANDOM * 32768 + RANDOM) % N + 1));"
		echo "SELECT count(*) FROM v3;"
	done; } | psql_ 2>&1)
	CHANGE[$form]=$(awk '/^Time:/ { t += $2; if (++k % 2 == 0) { print t; t = 0 } }' <<<"$out" | median)
	EQUAL[$form]=""
	for i in 1 2 3; do
		out=$(psql_ -c "SELECT (SELECT count(*) FROM (TABLE v$i EXCEPT ALL (${queries[$((i - 1))]})) a)
		                     + (SELECT count(*) FROM ((${queries[$((i - 1))]}) EXCEPT ALL TABLE v$i) b)")
		[ "$out" = 0 ] || EQUAL[$form]+="v$i differs ($out rows) "
	done
	EQUAL[$form]=${EQUAL[$form]:-yes}
	progress "$form: change ${CHANGE[$form]} ms; equal: ${EQUAL[$form]}"
	psql_ -c "SET client_min_messages = warning" -c "DROP MATERIALIZED VIEW v1, v2, v3 CASCADE"
}

run_form stacked
run_form expanded

echo "== views over views at $N rows: stacked (each reads the changes of the view below) / expanded (each over the tables)"
echo "| | v1 | v2 | v3 | all three |"
echo "|---|---|---|---|---|"
for what in build memory; do
	line="| $what |"
	tot_s=0
	tot_e=0
	for i in 1 2 3; do
		if [ $what = build ]; then s=${BUILD[stacked,$i]}; e=${BUILD[expanded,$i]}; unit=ms; else s=${MEM[stacked,$i]}; e=${MEM[expanded,$i]}; unit=MB; fi
		line+=$(awk -v s="$s" -v e="$e" -v u="$unit" 'BEGIN { printf " %.1f / %.1f %s |", s, e, u }')
		tot_s=$(awk -v a="$tot_s" -v b="$s" 'BEGIN { print a + b }')
		tot_e=$(awk -v a="$tot_e" -v b="$e" 'BEGIN { print a + b }')
	done
	line+=$(awk -v s="$tot_s" -v e="$tot_e" -v u="$unit" 'BEGIN { printf " %.1f / %.1f %s (%.2fx) |", s, e, u, s / e }')
	echo "$line"
done
echo "| change (UPDATE + strict read of v3, median of $REPS) | | | | ${CHANGE[stacked]} / ${CHANGE[expanded]} ms |"
echo "| views equal their queries | | | | ${EQUAL[stacked]} / ${EQUAL[expanded]} |"
echo
echo "($((SECONDS - START)) s in all)"
