#!/usr/bin/env bash
# WITH RECURSIVE: the cost of adding and of removing one edge of a graph,
# against REFRESH MATERIALIZED VIEW, at several graph sizes.  The graph is a
# tree of N edges (node i's parent is (i - 1) / 4), and the views are
#
#   closure  its transitive closure (UNION): every ancestor-descendant pair
#   paths    every node with its depth from the root (UNION ALL)
#
# For each size and view, 20 times: INSERT an edge from a random node to a
# random node further down (a new path: the closure gains the pairs of its
# ancestors and descendants), then DELETE it; and 10 times: DELETE a random
# tree edge (its subtree leaves, or is found again through an added edge),
# then INSERT it back.  Each change is timed with a strict read of one row
# of the view, which waits for it (psql \timing); the figure is the median.
# REFRESH is the median of 3 REFRESH MATERIALIZED VIEW of a plain
# materialized view of the same query.  The build of the maintained view
# (CREATE and its first read) is timed against the plain CREATE.  At the
# end each view is compared with its query.  One run, on a throwaway
# server; asserts nothing.  About a minute at the default sizes.
#
#   bash test/bench/recursion.sh [edges ...]     default 10000 100000
#
# COORDINATOR_BENCH_PORT sets the server's port (default 5499).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000)
START=$SECONDS
progress() { echo "[$((SECONDS - START)) s] $*" >&2; }

start_bench_server "${COORDINATOR_BENCH_PORT:-5499}"
bench_no_checkpoints
psql_ -c "SET client_min_messages = warning" -c "CREATE EXTENSION coordinator" >/dev/null

declare -A QUERY
QUERY[closure]="WITH RECURSIVE c(a, d) AS (SELECT src, dst FROM edges UNION SELECT c.a, e.dst FROM c JOIN edges e ON e.src = c.d) SELECT a, d FROM c"
QUERY[paths]="WITH RECURSIVE p(n, depth) AS (SELECT 0, 0 UNION ALL SELECT e.dst, p.depth + 1 FROM p JOIN edges e ON e.src = p.n) SELECT n, depth FROM p"
VIEWS=(closure paths)


load() {
	psql_ >/dev/null <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS edges CASCADE;
CREATE TABLE edges (src int, dst int);
ALTER TABLE edges REPLICA IDENTITY FULL;
INSERT INTO edges SELECT (i - 1) / 4, i FROM generate_series(1, $1) i;
CREATE INDEX ON edges (src, dst);
VACUUM ANALYZE edges;
CHECKPOINT;
SQL
	bench_wait_decoded edges
}

# The median cost of the changes of a psql script of change, read, change,
# read... alternately of two kinds: "first second".
alternate() {
	local out
	out=$(echo -e "\\\\timing on\n$1" | bench_timings | bench_pairs)
	echo "$(awk 'NR % 2 == 1' <<<"$out" | bench_median) $(awk 'NR % 2 == 0' <<<"$out" | bench_median)"
}

declare -A ROWS BUILD PLAIN REFRESH ADD REMOVE CUT REJOIN CHECK
for n in "${SIZES[@]}"; do
	progress "== $n edges: loading"
	load "$n"
	for v in "${VIEWS[@]}"; do
		q=${QUERY[$v]}
		PLAIN[$v,$n]=$(echo -e "\\\\timing on\nCREATE MATERIALIZED VIEW plain_m AS $q;" | bench_timings)
		REFRESH[$v,$n]=$(for _ in 1 2 3; do echo -e "\\\\timing on\nREFRESH MATERIALIZED VIEW plain_m;"; done | bench_timings | bench_median)
		psql_ -c "DROP MATERIALIZED VIEW plain_m" >/dev/null
		BUILD[$v,$n]=$(echo -e "SET client_min_messages = warning;\n\\\\timing on\nCREATE MATERIALIZED VIEW m WITH (incremental) AS $q;\nSELECT count(*) FROM m;" |
			bench_timings | awk '{ t += $1 } END { print t }')
		ROWS[$v,$n]=$(psql_ -c "SELECT count(*) FROM m")
		# an edge added further down, then removed
		script=""
		for _ in $(seq 20); do
			a=$((RANDOM * 32768 + RANDOM))
			a=$((a % (n / 2)))
			b=$(((RANDOM * 32768 + RANDOM) % (n / 2) + n / 2 + 1))
			script+="INSERT INTO edges VALUES ($a, $b);"$'\n'"SELECT 1 FROM m LIMIT 1;"$'\n'
			script+="DELETE FROM edges WHERE src = $a AND dst = $b;"$'\n'"SELECT 1 FROM m LIMIT 1;"$'\n'
		done
		read -r ADD[$v,$n] REMOVE[$v,$n] <<<"$(alternate "$script")"
		# a tree edge cut, then put back
		script=""
		for _ in $(seq 10); do
			b=$(((RANDOM * 32768 + RANDOM) % n + 1))
			script+="DELETE FROM edges WHERE src = $(((b - 1) / 4)) AND dst = $b;"$'\n'"SELECT 1 FROM m LIMIT 1;"$'\n'
			script+="INSERT INTO edges VALUES ($(((b - 1) / 4)), $b);"$'\n'"SELECT 1 FROM m LIMIT 1;"$'\n'
		done
		read -r CUT[$v,$n] REJOIN[$v,$n] <<<"$(alternate "$script")"
		d=$(psql_ -c "SELECT (SELECT count(*) FROM (SELECT * FROM m EXCEPT ALL ($q)) a) + (SELECT count(*) FROM (($q) EXCEPT ALL SELECT * FROM m) b)")
		CHECK[$v,$n]=$([ "$d" = 0 ] && echo equal || echo "DIFFERS ($d rows)")
		psql_ -c "DROP MATERIALIZED VIEW m" >/dev/null
		progress "  $v: ${ROWS[$v,$n]} rows; build ${BUILD[$v,$n]} ms (plain ${PLAIN[$v,$n]}); REFRESH ${REFRESH[$v,$n]} ms; add ${ADD[$v,$n]}, remove ${REMOVE[$v,$n]}, cut ${CUT[$v,$n]}, rejoin ${REJOIN[$v,$n]} ms; ${CHECK[$v,$n]}"
	done
done

echo "== one edge changed, and a strict read of the view (median ms), against REFRESH"
echo "| view | edges | rows | add an edge | remove it | cut a tree edge | put it back | REFRESH | REFRESH / add | REFRESH / remove | build / plain CREATE | view = query |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for v in "${VIEWS[@]}"; do
	for n in "${SIZES[@]}"; do
		awk -v v="$v" -v n="$n" -v rows="${ROWS[$v,$n]}" -v add="${ADD[$v,$n]}" -v rm="${REMOVE[$v,$n]}" \
			-v cut="${CUT[$v,$n]}" -v rejoin="${REJOIN[$v,$n]}" -v r="${REFRESH[$v,$n]}" \
			-v b="${BUILD[$v,$n]}" -v p="${PLAIN[$v,$n]}" -v c="${CHECK[$v,$n]}" 'BEGIN {
			printf "| %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.1f | %.0fx | %.0fx | %.1fx | %s |\n",
				v, n, rows, add, rm, cut, rejoin, r, r / add, r / rm, b / p, c }'
	done
done
echo "(cut: the median over random tree edges; a cut near the root removes a large subtree, which is the change)"
