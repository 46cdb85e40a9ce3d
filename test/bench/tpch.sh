#!/usr/bin/env bash
# TPC-H: the 22 queries of the TPC-H specification as maintained views over
# its 8 tables, against plain materialized views of the same queries, under
# the specification's refresh functions: RF1 inserts SF * 1,500 new orders
# with their lineitems, RF2 deletes SF * 1,500 orders and their lineitems,
# each one transaction.
#
# Each query alone (its maintained view the only one; dropped before the
# next): building it (CREATE, then the first read, which waits until it is
# current) against CREATE MATERIALIZED VIEW (best of 2 each); after RF1 and
# after RF2, the time from the COMMIT until a strict read of the view
# returns (the COMMIT and the read) against REFRESH MATERIALIZED VIEW; the
# memory of its dataflow against the heap of the tables it reads; and
# whether it equals its query (EXCEPT ALL both ways) after the build and
# after each refresh function.  Then the 22 together: after RF1 and after
# RF2, a strict read of each view in turn, each one's time since the
# COMMIT (a view read later includes the reads before it), against
# refreshing the 22 plain views; the memory of the workers.  Prints one table and the targets, met or not.  One run, on a
# throwaway server; reports, asserts nothing.
#
#   bash test/bench/tpch.sh [scale factor, default 0.1]
#
# Environment: PORT (default 5495).  Progress goes to stderr.
# Data: test/bench/tpch/schema.sql and generate.sql (the generator, in SQL);
# queries: test/bench/tpch/queries/q01.sql ... q22.sql.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

SF=${1:-0.1}
TPCH=$ROOT/test/bench/tpch
start_bench_server "${PORT:-5495}"
ERR=$DIR/stderr

progress() { echo "[$(date +%T)] $*" >&2; }

# no checkpoint in the middle of a measurement; no read waits forever
bench_no_checkpoints
psql_ >/dev/null <<'SQL'
ALTER SYSTEM SET statement_timeout = '15min';
SELECT pg_reload_conf();
SQL

progress "generating TPC-H data at scale factor $SF"
start=$(date +%s.%N)
{
	echo "SET client_min_messages = warning;"
	echo "CREATE EXTENSION coordinator;"
	cat "$TPCH/schema.sql" "$TPCH/generate.sql"
	# the heap of each table after the load
	echo "CREATE TABLE tpch_gen.heap0 AS SELECT oid AS rel, pg_relation_size(oid) AS bytes FROM pg_class
		WHERE relnamespace = 'public'::regnamespace AND relkind = 'r';"
	# each view's first moment current: upper past a strict read's timestamp
	cat <<'SQL'
CREATE FUNCTION tpch_gen.currency(views regclass[], OUT v regclass, OUT ms float8)
RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
  target bigint := coordinator.oracle_timestamp();
  t0 timestamptz := clock_timestamp();
  pending regclass[] := views;
  r record;
BEGIN
  WHILE cardinality(pending) > 0 LOOP
    FOR r IN SELECT s.relid::regclass AS rel FROM coordinator.view_status() s
              WHERE s.relid::regclass = ANY (pending) AND s.upper > target LOOP
      v := r.rel;
      ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
      RETURN NEXT;
      pending := array_remove(pending, r.rel);
    END LOOP;
    IF clock_timestamp() - t0 > interval '10 min' THEN
      RAISE EXCEPTION 'not current after 10 minutes: %', pending;
    END IF;
    PERFORM pg_sleep(0.0001);
  END LOOP;
END $$;
SQL
	echo "CHECKPOINT;"
} | psql_ -v ON_ERROR_STOP=1 -v sf="$SF" >/dev/null
gen_s=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
progress "generated in $gen_s s"
rows=$(psql_ -c "SELECT string_agg(relname || ' ' || n_live_tup, ', ' ORDER BY n_live_tup DESC)
	FROM pg_stat_user_tables WHERE schemaname = 'public'")

# a query's text without comments and the final semicolon, on one line
query() { sed -e 's/--.*$//' "$TPCH/queries/$1.sql" | tr '\n\t' '  ' | sed -e 's/;[[:space:]]*$//' -e 's/  */ /g'; }

# milliseconds of each statement on stdin, one line each; psql stops at the
# first error, which goes to $ERR
timings() {
	{ echo '\timing on'; cat; } | psql_ -v ON_ERROR_STOP=1 2>"$ERR" | awk '/^Time:/ { print $2 }' || true
}
failed() { [ -s "$ERR" ]; }
error_text() { grep -v '^Time:' "$ERR" | head -3 | tr '\n' ' '; }
sum_lines() { awk '{ s += $1 } END { printf "%.1f", s }'; }
min2() { awk -v a="$1" -v b="$2" 'BEGIN { print (b != "" && b + 0 < a + 0) ? b : a }'; }
line() { sed -n "${2}p" <<<"$1"; }

# the rows of view $1 not in query $2 and of $2 not in $1 (EXCEPT ALL)
check() {
	local r
	r=$(psql_ -c "SELECT (SELECT count(*) FROM (TABLE $1 EXCEPT ALL SELECT * FROM ($2) s) a) || ' '
		|| (SELECT count(*) FROM (SELECT * FROM ($2) s EXCEPT ALL TABLE $1) b)" 2>&1) || true
	if [ "$r" = "0 0" ]; then
		echo OK
	else
		echo "WRONG($r)"
		{
			echo "  $1 differs from its query after $3: rows only in the view / only in the query: $r"
			psql_ -c "TABLE $1 EXCEPT ALL SELECT * FROM ($2) s LIMIT 5" | sed 's/^/  view only: /'
			psql_ -c "SELECT * FROM ($2) s EXCEPT ALL TABLE $1 LIMIT 5" | sed 's/^/  query only: /'
		} >&2 || true
	fi
}

# Run refresh function $1 (set $2 staged), then poll the views named in
# the rest until each is current: its upper past the timestamp a strict
# read would take right after the COMMIT.  Prints "dml MS" (the INSERTs or
# DELETEs), then "VIEW MS" per view: the COMMIT's time plus the time
# until the view was current (polled every 0.1 ms, so it includes no read).
rf_currency() {
	local rf=$1 set=$2 out commit list
	shift 2
	list=$(printf "'%s'::regclass," "$@")
	"stage_$rf" "$set"
	out=$({ echo '\timing on'; "${rf}_sql"; echo "SELECT v, ms FROM tpch_gen.currency(ARRAY[${list%,}]);"; } |
		psql_ -v ON_ERROR_STOP=1 -F ' ' 2>"$ERR") || true
	commit=$(grep '^Time:' <<<"$out" | sed -n 4p | awk '{ print $2 }')
	echo "dml $(grep '^Time:' <<<"$out" | sed -n 2,3p | awk '{ s += $2 } END { printf "%.1f", s }')"
	grep -v '^Time:' <<<"$out" | awk -v c="$commit" 'NF == 2 { printf "%s %.1f\n", $1, c + $2 }'
}

# stage RF1's rows (set $1) or RF2's keys (set $1) before the transaction
stage_rf1() { psql_ -c "SELECT tpch_gen.stage_rf1($SF, $1)" >/dev/null; }
stage_rf2() { psql_ -c "SELECT tpch_gen.stage_rf2($SF, $1)" >/dev/null; }
# the refresh functions' statements, each one transaction
rf1_sql() {
	printf '%s\n' "BEGIN;" "INSERT INTO orders SELECT * FROM tpch_gen.new_orders;" \
		"INSERT INTO lineitem SELECT * FROM tpch_gen.new_lineitem;" "COMMIT;"
}
rf2_sql() {
	printf '%s\n' "BEGIN;" "DELETE FROM lineitem USING tpch_gen.del_orders d WHERE l_orderkey = d.o_orderkey;" \
		"DELETE FROM orders USING tpch_gen.del_orders d WHERE orders.o_orderkey = d.o_orderkey;" "COMMIT;"
}

# the heap (main fork, at the load) of the tables view $1's query reads
heap_of() {
	psql_ -c "SELECT coalesce(sum(h.bytes), 0) FROM tpch_gen.heap0 h WHERE h.rel IN (
		SELECT d.refobjid FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
		WHERE r.ev_class = '$1'::regclass)"
}

QUERIES=(q01 q02 q03 q04 q05 q06 q07 q08 q09 q10 q11 q12 q13 q14 q15 q16 q17 q18 q19 q20 q21 q22)
# Refresh function rf (rf1 or rf2) with view inc_q alone: the DML, the
# COMMIT and a strict read until current, REFRESH of plain_q, and whether
# inc_q still equals query Q (in rf_check).  Fills rf1_* or rf2_*.
rf_alone() {
	local rf=$1 q=$2 Q=$3 t
	local -n dml=${rf}_dml cur=${rf}_cur ref=${rf}_ref
	progress "$q alone: ${rf^^}"
	t=$(rf_currency "$rf" "$u" "inc_$q")
	failed && progress "$q ${rf^^}: $(error_text)"
	dml[$q]=$(awk '$1 == "dml" { print $2 }' <<<"$t")
	cur[$q]=$(awk -v v="inc_$q" '$1 == v { print $2 }' <<<"$t")
	ref[$q]=$(echo "REFRESH MATERIALIZED VIEW plain_$q;" | timings)
	rf_check=$(check "inc_$q" "$Q" "${rf^^}")
}
declare -A plain_build inc_build rf1_cur rf1_ref rf2_cur rf2_ref rf1_dml rf2_dml mem heap correct refused
u=0
for q in "${QUERIES[@]}"; do
	Q=$(query "$q")
	u=$((u + 1))
	progress "$q alone: building"
	# plain: best of 2
	a=$(echo "CREATE MATERIALIZED VIEW plain_$q AS $Q;" | timings)
	psql_ -c "DROP MATERIALIZED VIEW plain_$q"
	b=$(echo "CREATE MATERIALIZED VIEW plain_$q AS $Q;" | timings)
	plain_build[$q]=$(min2 "$a" "$b")
	heap[$q]=$(heap_of "plain_$q")
	# ours: CREATE and the first read, best of 2
	build_inc() {
		printf '%s\n' "SET client_min_messages = warning;" \
			"CREATE MATERIALIZED VIEW inc_$q WITH (incremental) AS $Q;" "SELECT count(*) FROM inc_$q;" |
			timings | sum_lines
	}
	a=$(build_inc)
	if failed; then
		refused[$q]=$(error_text)
		progress "$q refused as a maintained view: ${refused[$q]}"
		echo "$q: refused as a maintained view: ${refused[$q]}"
		psql_ -c "DROP MATERIALIZED VIEW IF EXISTS inc_$q" 2>/dev/null || true
		continue
	fi
	psql_ -c "DROP MATERIALIZED VIEW inc_$q"
	b=$(build_inc)
	inc_build[$q]=$(min2 "$a" "$b")
	c0=$(check "inc_$q" "$Q" build)

	rf_alone rf1 "$q" "$Q"
	c1=$rf_check
	rf_alone rf2 "$q" "$Q"
	c2=$rf_check

	mem[$q]=$(psql_ -c "SELECT dataflow_bytes FROM coordinator.dataflows WHERE object = 'inc_$q'::regclass")
	if [ "$c0 $c1 $c2" = "OK OK OK" ]; then
		correct[$q]=OK
	else
		correct[$q]="build $c0, RF1 $c1, RF2 $c2"
	fi
	psql_ -c "DROP MATERIALIZED VIEW inc_$q"
done

# the 22 together
ACCEPTED=()
for q in "${QUERIES[@]}"; do
	[ -z "${refused[$q]:-}" ] && ACCEPTED+=("$q")
done
progress "all ${#ACCEPTED[@]} maintained views together: building"
together_build=$(for q in "${ACCEPTED[@]}"; do
	echo "CREATE MATERIALIZED VIEW inc_$q WITH (incremental) AS $(query "$q");"
	echo "SELECT count(*) FROM inc_$q;"
done | { echo "SET client_min_messages = warning;"; cat; } | timings | sum_lines)
failed && progress "together: build: $(error_text)"
plain_build_sum=$(for q in "${ACCEPTED[@]}"; do echo "${plain_build[$q]}"; done | sum_lines)

declare -A tog_rf1 tog_rf2 tog_correct
# one refresh function ($1: rf1 or rf2, set $2), then each view's time from
# the COMMIT until it was current (rf_currency); sets all_$1 (until the last
# was)
together() {
	local rf=$1 set=$2 t q views=() all=0
	for q in "${ACCEPTED[@]}"; do views+=("inc_$q"); done
	t=$(rf_currency "$rf" "$set" "${views[@]}")
	failed && progress "together $rf: $(error_text)"
	for q in "${ACCEPTED[@]}"; do
		elapsed=$(awk -v v="inc_$q" '$1 == v { print $2 }' <<<"$t")
		all=$(awk -v a="$all" -v b="$elapsed" 'BEGIN { print (b > a ? b : a) }')
		if [ "$rf" = rf1 ]; then tog_rf1[$q]=$elapsed; else tog_rf2[$q]=$elapsed; fi
	done
	printf -v "all_$rf" '%s' "$all"
}
progress "together: RF1"
together rf1 100
all_ref1=$(for q in "${ACCEPTED[@]}"; do echo "REFRESH MATERIALIZED VIEW plain_$q;"; done | timings | sum_lines)
for q in "${ACCEPTED[@]}"; do tog_correct[$q]=$(check "inc_$q" "$(query "$q")" "RF1, 22 together"); done
progress "together: RF2"
together rf2 100
all_ref2=$(for q in "${ACCEPTED[@]}"; do echo "REFRESH MATERIALIZED VIEW plain_$q;"; done | timings | sum_lines)
for q in "${ACCEPTED[@]}"; do
	c=$(check "inc_$q" "$(query "$q")" "RF2, 22 together")
	[ "$c" = OK ] || tog_correct[$q]="${tog_correct[$q]}/$c"
done
mem_sum=$(psql_ -c "SELECT sum(dataflow_bytes) FROM coordinator.dataflows")
mem_workers=$(psql_ -c "SELECT sum(memory_bytes) FROM coordinator.workers")
heap_all=$(psql_ -c "SELECT coalesce(sum(h.bytes), 0) FROM tpch_gen.heap0 h WHERE h.rel IN (
	SELECT d.refobjid FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
	WHERE r.ev_class::regclass::text LIKE 'plain\_q%')")
heap_total=$(psql_ -c "SELECT sum(bytes) FROM tpch_gen.heap0")

# the table
echo
echo "== TPC-H, scale factor $SF ($rows rows; generated in $gen_s s); $(nproc) cores"
echo "RF1: insert $(awk -v s="$SF" 'BEGIN { print int(1500 * s + 0.5) }') orders and their lineitems; RF2: delete as many; each one transaction."
echo "current = from the COMMIT until the view is current: the COMMIT's time plus the time until the view's upper passed the timestamp a strict read takes after it (polled every 0.1 ms; ms); REFRESH = REFRESH MATERIALIZED VIEW of the plain view (ms)."
echo
echo "| query | CREATE plain (ms) | CREATE + first read, ours (ms) | build ratio | RF1 current | RF1 REFRESH | REFRESH / current | RF2 current | RF2 REFRESH | REFRESH / current | current <= REFRESH / 100 | dataflow MB | heap MB of its tables | memory / heap | 22 together: current after RF1 / RF2 (ms from the COMMIT) | within 2x of alone | equals its query |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
ratios=()
alone_met=0 alone_n=0 within=0
for q in "${QUERIES[@]}"; do
	if [ -n "${refused[$q]:-}" ]; then
		echo "| $q | ${plain_build[$q]} | refused: ${refused[$q]} | | | | | | | | not met | | | | | | |"
		alone_n=$((alone_n + 1))
		continue
	fi
	ratios+=("$(awk -v i="${inc_build[$q]}" -v p="${plain_build[$q]}" 'BEGIN { printf "%.3f", i / p }')")
	row=$(awk -v q="$q" -v pb="${plain_build[$q]}" -v ib="${inc_build[$q]}" \
		-v c1="${rf1_cur[$q]}" -v r1="${rf1_ref[$q]}" -v c2="${rf2_cur[$q]}" -v r2="${rf2_ref[$q]}" \
		-v m="${mem[$q]}" -v h="${heap[$q]}" -v t1="${tog_rf1[$q]}" -v t2="${tog_rf2[$q]}" 'BEGIN {
		met = (c1 * 100 <= r1 && c2 * 100 <= r2) ? "met" : "not met"
		w = (t1 <= 2 * c1 && t2 <= 2 * c2) ? "yes" : "no"
		printf "%s|%s|| %s | %.0f | %.0f | %.2fx | %.1f | %.0f | %.1fx | %.1f | %.0f | %.1fx | %s | %.1f | %.1f | %.2fx | %.1f / %.1f | %s ",
			met, w, q, pb, ib, ib / pb, c1, r1, r1 / c1, c2, r2, r2 / c2, met, m / 1048576, h / 1048576, m / h, t1, t2, w }')
	met=${row%%|*}
	row=${row#*|}
	w=${row%%|*}
	row=${row#*||}
	alone_n=$((alone_n + 1))
	[ "$met" = met ] && alone_met=$((alone_met + 1))
	[ "$w" = yes ] && within=$((within + 1))
	c=${correct[$q]}
	[ "${tog_correct[$q]}" = OK ] || c="$c; 22 together: ${tog_correct[$q]}"
	echo "|$row| $c |"
done
echo

# targets
median_max=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "0 0"; else printf "%.2f %.2f", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[NR] }')
med=${median_max% *}
worst=${median_max#* }
verdict() { awk "BEGIN { print ($1) ? \"met\" : \"not met\" }"; }
n_refused=$((${#QUERIES[@]} - ${#ACCEPTED[@]}))
echo "| target | measured | |"
echo "|---|---|---|"
echo "| each query alone current after RF1 and RF2 in at most 1/100 of its REFRESH | $alone_met of $alone_n ($n_refused refused) | $([ "$alone_met" = "$alone_n" ] && echo met || echo not met) |"
echo "| all ${#ACCEPTED[@]} together current after an RF in at most 1/50 of refreshing them all | RF1: $all_rf1 ms vs $all_ref1 ms ($(awk -v a="$all_rf1" -v b="$all_ref1" 'BEGIN { printf "1/%.0f", b / a }')); RF2: $all_rf2 ms vs $all_ref2 ms ($(awk -v a="$all_rf2" -v b="$all_ref2" 'BEGIN { printf "1/%.0f", b / a }')) | $(verdict "$all_rf1 * 50 <= $all_ref1 && $all_rf2 * 50 <= $all_ref2 && $n_refused == 0") |"
echo "| each view, 22 together, current after an RF within 2x of its time alone | $within of ${#ACCEPTED[@]} | $([ "$within" = "${#QUERIES[@]}" ] && echo met || echo not met) |"
echo "| build (CREATE + first read) / plain CREATE: median at most 1.5x | $med x | $(verdict "$med <= 1.5") |"
echo "| build / plain CREATE: worst at most 3x | $worst x | $(verdict "$worst <= 3") |"
echo "| dataflow memory of all ${#ACCEPTED[@]} (the workers' memory: shared arrangements once) at most 2x the heap of the tables they read | $(awk -v m="$mem_workers" -v h="$heap_all" 'BEGIN { printf "%.1f MB / %.1f MB = %.2fx", m / 1048576, h / 1048576, m / h }') (the views' dataflows summed, shared arrangements in each: $(awk -v m="$mem_sum" -v h="$heap_all" 'BEGIN { printf "%.1f MB, %.2fx", m / 1048576, m / h }')) | $(verdict "$mem_workers <= 2 * $heap_all") |"
echo
echo "Building the ${#ACCEPTED[@]} together (CREATE + first read each, the worker running): $together_build ms; their plain CREATEs (best of 2 each): $plain_build_sum ms."
echo "RF statements alone (INSERTs / DELETEs before the COMMIT), median over the queries: RF1 $(for q in "${ACCEPTED[@]}"; do echo "${rf1_dml[$q]}"; done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') ms, RF2 $(for q in "${ACCEPTED[@]}"; do echo "${rf2_dml[$q]}"; done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') ms."
echo "Heap of all 8 tables at the load: $(awk -v h="$heap_total" 'BEGIN { printf "%.1f MB", h / 1048576 }')."
