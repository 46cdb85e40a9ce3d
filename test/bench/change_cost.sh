#!/usr/bin/env bash
# The cost of one change, per kind of maintained view, at several table
# sizes, against REFRESH MATERIALIZED VIEW of the same query at the largest:
# the goal is that a single-row change costs the same whatever the size of
# the table.  For each kind and size, the view is created alone, measured
# and dropped:
#
#   change   median of 20 of: one single-row UPDATE of the column the view
#            reads (autocommit, through the primary key) and a strict read
#            of the view that waits for it (psql \timing).  Rows are random,
#            but every 4th UPDATE moves the row that holds the current
#            extreme (the max or the min, of the table or of a random group;
#            for top-k, DISTINCT ON and row_number the top row) to a random
#            value, so the view must find the next one.
#   REFRESH  median of 3 REFRESH MATERIALIZED VIEW of a plain materialized
#            view of the same query.
#   build    CREATE MATERIALIZED VIEW ... WITH (incremental) and its first
#            read (which waits until it is hydrated), against a plain
#            CREATE MATERIALIZED VIEW.
#
# After the changes, each view is compared with its query, row by row as
# text (so display scales count).  Prints one table of the change costs,
# with the growth from the smallest size to the largest and the targets
# (growth at most 3x, REFRESH / change at least 100x), and one of the
# builds.  Progress goes to stderr.  One run, on a throwaway server; asserts
# nothing.
#
#   bash test/bench/change_cost.sh [size ...]      default 10000 100000 1000000
#
# COORDINATOR_COST_KINDS="top_k int_sum" measures only those kinds;
# COORDINATOR_COST_PARTITIONS=8 makes facts a table hash-partitioned by id
# into that many partitions (the UPDATEs then touch one partition);
# COORDINATOR_BENCH_PORT sets the server's port (default 5499).  About 4
# minutes at the default sizes on 2 cores, most of it at 1,000,000 rows.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000 1000000)
REPS=20
PARTITIONS=${COORDINATOR_COST_PARTITIONS:-0}
START=$SECONDS

# name | column changed | extreme (desc: the max row, asc: the min row,
# both: alternately) | per group (the extreme of a random g) | query
KINDS="
int_sum|iv|desc|no|SELECT sum(iv), count(*) FROM facts
numeric_sum_avg|amt|desc|no|SELECT sum(amt), avg(amt) FROM facts
numeric_sum_grouped|amt|desc|yes|SELECT g, sum(amt) FROM facts GROUP BY g
bigint_sum|iv|desc|yes|SELECT g, sum(iv::bigint), avg(iv::bigint) FROM facts GROUP BY g
stddev_numeric|amt|desc|no|SELECT stddev(amt), var_pop(amt) FROM facts
min_max_numeric|amt|both|no|SELECT min(amt), max(amt) FROM facts
max_timestamp_grouped|ts|desc|yes|SELECT g, max(ts) FROM facts GROUP BY g
min_text|s|both|yes|SELECT g, min(s), max(s) FROM facts GROUP BY g
count_distinct|iv|desc|no|SELECT count(DISTINCT iv) FROM facts
sum_distinct_grouped|iv|desc|yes|SELECT g, sum(DISTINCT iv) FROM facts GROUP BY g
top_k|amt|desc|no|SELECT id, amt FROM facts ORDER BY amt DESC, id LIMIT 10
distinct_on|amt|desc|yes|SELECT DISTINCT ON (g) g, id, amt FROM facts ORDER BY g, amt DESC, id
row_number_k|amt|desc|yes|SELECT * FROM (SELECT g, id, amt, row_number() OVER (PARTITION BY g ORDER BY amt DESC, id) AS rn FROM facts) s WHERE rn <= 3
bool_and|iv|both|yes|SELECT g, bool_and(iv > 0), bool_or(iv > 990) FROM facts GROUP BY g
srf_lateral|iv|desc|no|SELECT f.g, count(*), sum(x) FROM facts f, generate_series(1, f.iv % 5 + 1) x GROUP BY f.g
rollup|iv|desc|no|SELECT g, iv % 10 AS d, sum(iv), count(*) FROM facts GROUP BY ROLLUP (g, iv % 10)
"
SELECTED=()
while IFS='|' read -r name _; do
	[ -n "$name" ] || continue
	if [ -z "${COORDINATOR_COST_KINDS:-}" ] || [[ " $COORDINATOR_COST_KINDS " == *" $name "* ]]; then
		SELECTED+=("$name")
	fi
done <<<"$KINDS"
kind_field() { awk -F'|' -v n="$1" -v f="$2" '$1 == n { print $f }' <<<"$KINDS"; }

progress() { echo "[$((SECONDS - START)) s] $*" >&2; }

# seconds per kind: about 1 + 9 per million rows; loading: 15 per million
estimate=$(awk -v k=${#SELECTED[@]} -v s="${SIZES[*]}" 'BEGIN {
	for (i = split(s, n, " "); i > 0; i--) t += k * (1 + n[i] * 9e-6) + n[i] * 15e-6
	printf "%.0f", t }')
progress "sizes ${SIZES[*]}; kinds ${SELECTED[*]}; partitions $PARTITIONS; about $estimate s after the build"
start_bench_server "${COORDINATOR_BENCH_PORT:-5499}"

# no checkpoint in the middle of a measurement (the load comes first)
bench_no_checkpoints
psql_ <<SQL
SET client_min_messages = warning;
CREATE EXTENSION coordinator;
CREATE TABLE sync_t (k int);
SQL

# facts: N rows; g 10 groups, g2 groups of 10 rows; amt numeric of display
# scales 0 to 3 in 0..99999.999; iv 0..999 (0 only in group 0); ts over about
# two years; s 32 hex digits
load() {
	local n=$1 create identity
	create="CREATE TABLE facts (id int PRIMARY KEY, g int, g2 int, amt numeric, iv int, ts timestamp, s text)"
	identity="ALTER TABLE facts REPLICA IDENTITY FULL;"
	if [ "$PARTITIONS" -gt 0 ]; then
		create+=" PARTITION BY HASH (id);"
		identity=""
		for i in $(seq 0 $((PARTITIONS - 1))); do
			create+=" CREATE TABLE facts_$i PARTITION OF facts FOR VALUES WITH (MODULUS $PARTITIONS, REMAINDER $i);"
			identity+=" ALTER TABLE facts_$i REPLICA IDENTITY FULL;"
		done
	fi
	psql_ <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS facts;
$create;
INSERT INTO facts
SELECT i, i % 10, i / 10,
	round(((i::bigint * 7919) % 100000 + ((i::bigint * 104729) % 1000) / 1000.0)::numeric, (i / 10) % 4),
	(i::bigint * 7919) % 1000,
	timestamp '2020-01-01' + ((i::bigint * 104729) % 1000003) * interval '1 minute',
	md5(i::text)
FROM generate_series(1, $n) i;
$identity
VACUUM ANALYZE facts;
CHECKPOINT;
SQL
	# a strict read of a maintained view waits until the worker has decoded
	# the load, so that no build below waits for it
	psql_ -c "SET client_min_messages = warning" \
		-c "CREATE MATERIALIZED VIEW sync_v WITH (incremental) AS SELECT count(*) FROM sync_t" \
		-c "SELECT count(*) FROM sync_v" -c "DROP MATERIALIZED VIEW sync_v" >/dev/null
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }

# milliseconds of a statement, the median of N runs (psql \timing)
ms() {
	local sql=$1 n=$2
	{ echo '\timing on'; for _ in $(seq "$n"); do echo "$sql"; done; } |
		psql_ 2>/dev/null | awk '/^Time:/ { print $2 }' | median
}

# a random id of facts, and a random new value of a column
random_id() { echo $(((RANDOM * 32768 + RANDOM) % $1 + 1)); }
random_value() {
	case $1 in
	amt)
		local scale=$((RANDOM % 4)) frac
		frac=$(printf '%03d' $((RANDOM % 1000)))
		if [ "$scale" = 0 ]; then echo "$((RANDOM * 3 % 100000))"; else echo "$((RANDOM * 3 % 100000)).${frac:0:scale}"; fi
		;;
	iv) echo $((RANDOM % 1000)) ;;
	ts) echo "timestamp '2020-01-01' + interval '$(((RANDOM * 32768 + RANDOM) % 1000003)) minutes'" ;;
	s) echo "md5('u$RANDOM')" ;;
	esac
}

# The psql script of REPS changes of a kind's column, each an UPDATE and a
# strict read of bench_m, timed; the lookup of an extreme row is not.
changes_script() {
	local n=$1 col=$2 extreme=$3 grouped=$4 i dir where
	echo '\set ON_ERROR_STOP on'
	echo "SET statement_timeout = '2min';"
	for i in $(seq "$REPS"); do
		if [ $((i % 4)) = 0 ]; then
			dir=DESC
			[ "$extreme" = asc ] && dir=ASC
			[ "$extreme" = both ] && [ $((i % 8)) = 0 ] && dir=ASC
			where=""
			[ "$grouped" = yes ] && where="WHERE g = $((RANDOM % 10))"
			echo '\timing off'
			echo "SELECT id AS target FROM facts $where ORDER BY $col $dir, id LIMIT 1 \\gset"
			echo '\timing on'
			echo "UPDATE facts SET $col = $(random_value "$col") WHERE id = :target;"
		else
			echo '\timing on'
			echo "UPDATE facts SET $col = $(random_value "$col") WHERE id = $(random_id "$n");"
		fi
		echo "SELECT count(*) FROM bench_m;"
	done
}

# rows of the view and of its query, as text, that the other lacks
diff_sql() {
	local q=$1
	echo "SELECT '+ ' || t FROM (SELECT x::text AS t FROM bench_m x EXCEPT ALL SELECT x::text FROM ($q) x) a
	UNION ALL SELECT '- ' || t FROM (SELECT x::text AS t FROM ($q) x EXCEPT ALL SELECT x::text FROM bench_m x) b"
}

declare -A CHANGE REFRESH BUILD PLAIN CHECK NOTE
UPDATE_ALONE=()
NOTES=""

measure() {
	local n=$1 name=$2 col extreme grouped query out rc diff
	col=$(kind_field "$name" 2)
	extreme=$(kind_field "$name" 3)
	grouped=$(kind_field "$name" 4)
	query=$(kind_field "$name" 5)

	# the plain materialized view: its build, then REFRESH
	PLAIN[$name,$n]=$(ms "CREATE MATERIALIZED VIEW bench_r AS $query;" 1)
	REFRESH[$name,$n]=$(ms "REFRESH MATERIALIZED VIEW bench_r;" 3)
	psql_ -c "DROP MATERIALIZED VIEW bench_r"

	# the maintained view: CREATE and the first read, or the refusal
	rc=0
	out=$({ echo '\set ON_ERROR_STOP on'; echo "SET client_min_messages = warning; SET statement_timeout = '10min';"; echo '\timing on'
		echo "CREATE MATERIALIZED VIEW bench_m WITH (incremental) AS $query;"
		echo "SELECT count(*) FROM bench_m;"; } | psql_ 2>&1) || rc=$?
	if [ "$rc" != 0 ]; then
		CHANGE[$name,$n]=refused
		NOTE[$name]="refused: $(grep -m1 ERROR <<<"$out")"
		NOTES+="$name at $n rows: ${NOTE[$name]}"$'\n'
		progress "  $name: refused: $(grep -m1 ERROR <<<"$out")"
		psql_ -c "DROP MATERIALIZED VIEW IF EXISTS bench_m" 2>/dev/null || true
		return
	fi
	BUILD[$name,$n]=$(awk '/^Time:/ { t += $2 } END { print t }' <<<"$out")

	rc=0
	out=$(changes_script "$n" "$col" "$extreme" "$grouped" | psql_ 2>&1) || rc=$?
	if [ "$rc" != 0 ]; then
		CHANGE[$name,$n]=error
		NOTE[$name]="error: $(grep -m1 ERROR <<<"$out")"
		NOTES+="$name at $n rows: ${NOTE[$name]}"$'\n'
		progress "  $name: error: $(grep -m1 ERROR <<<"$out")"
	else
		CHANGE[$name,$n]=$(awk '/^Time:/ { t += $2; if (++k % 2 == 0) { print t; t = 0 } }' <<<"$out" | median)
	fi

	diff=$(psql_ -c "$(diff_sql "$query")" 2>&1) || diff="error: $diff"
	if [ -z "$diff" ]; then
		CHECK[$name,$n]=equal
	else
		CHECK[$name,$n]=DIFFERS
		NOTES+="$name at $n rows, view (+) against query (-):"$'\n'"$(head -8 <<<"$diff")"$'\n'
	fi
	psql_ -c "DROP MATERIALIZED VIEW bench_m"
	progress "  $name: plain build ${PLAIN[$name,$n]} ms, REFRESH ${REFRESH[$name,$n]} ms, build ${BUILD[$name,$n]} ms, change ${CHANGE[$name,$n]} ms, ${CHECK[$name,$n]}"
}

for n in "${SIZES[@]}"; do
	progress "== $n rows: loading"
	load "$n"
	# the UPDATE alone, no maintained view reading the table
	UPDATE_ALONE+=("$({ echo '\timing on'; for _ in $(seq "$REPS"); do echo "UPDATE facts SET amt = $(random_value amt) WHERE id = $(random_id "$n");"; done; } |
		psql_ 2>/dev/null | awk '/^Time:/ { print $2 }' | median)")
	progress "== $n rows: loaded; UPDATE alone ${UPDATE_ALONE[-1]} ms"
	for name in "${SELECTED[@]}"; do
		measure "$n" "$name"
	done
done

FIRST=${SIZES[0]}
LAST=${SIZES[-1]}
header="| kind |"
rule="|---|"
for n in "${SIZES[@]}"; do
	header+=" change at $n rows (ms) |"
	rule+="---|"
done
header+=" growth ($LAST / $FIRST) | REFRESH at $LAST / change at $LAST | target (growth <= 3x, REFRESH / change >= 100x) | view = query |"
rule+="---|---|---|---|"

echo "== the cost of one change (a single-row UPDATE and a strict read of the view, median of $REPS), each view alone"
echo "$header"
echo "$rule"
for name in "${SELECTED[@]}"; do
	line="| $name |"
	for n in "${SIZES[@]}"; do
		line+=" ${CHANGE[$name,$n]:-} |"
	done
	line+=$(awk -v a="${CHANGE[$name,$FIRST]:-}" -v b="${CHANGE[$name,$LAST]:-}" -v r="${REFRESH[$name,$LAST]:-}" 'BEGIN {
		if (a + 0 == 0 || b + 0 == 0) { printf " | | |"; exit }
		g = b / a; x = r / b
		m = (g <= 3 ? "" : "growth") (x >= 100 ? "" : (g <= 3 ? "" : ", ") "REFRESH ratio")
		printf " %.1fx | %.0fx (%.0f ms / %.2f ms) | %s |", g, x, r, b, (m == "" ? "met" : "not met: " m) }')
	checks=""
	for n in "${SIZES[@]}"; do
		[ -n "${CHECK[$name,$n]:-}" ] && checks+="${checks:+, }${CHECK[$name,$n]}"
	done
	echo "$line ${checks:-${NOTE[$name]:-}} |"
done
line="| (UPDATE alone, no view) |"
for u in "${UPDATE_ALONE[@]}"; do line+=" $u |"; done
echo "$line | | | |"

echo
echo "== building: CREATE ... WITH (incremental) and its first read / plain CREATE MATERIALIZED VIEW (ms)"
header="| kind |"
rule="|---|"
for n in "${SIZES[@]}"; do
	header+=" $n rows |"
	rule+="---|"
done
echo "$header"
echo "$rule"
for name in "${SELECTED[@]}"; do
	line="| $name |"
	for n in "${SIZES[@]}"; do
		if [ -n "${BUILD[$name,$n]:-}" ]; then
			line+=$(awk -v b="${BUILD[$name,$n]}" -v p="${PLAIN[$name,$n]}" 'BEGIN { printf " %.0f / %.0f = %.1fx |", b, p, b / p }')
		else
			line+=" ${CHANGE[$name,$n]:-} |"
		fi
	done
	echo "$line"
done

if [ -n "$NOTES" ]; then
	echo
	echo "== notes"
	printf '%s' "$NOTES"
fi
errors=$(grep -c 'ERROR' "$DIR/server.log" || true)
echo
echo "(server log: $errors ERROR lines; $((SECONDS - START)) s in all)"
grep 'ERROR' "$DIR/server.log" | sed 's/^[^E]*ERROR/ERROR/' | sort | uniq -c | head -20 || true
