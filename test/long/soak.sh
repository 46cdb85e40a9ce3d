#!/usr/bin/env bash
# Soak: 3 maintained views (aggregate, join + aggregate, filter) over a
# 100,000-row table while pgbench (2 clients) updates, moves, deletes and
# re-inserts single rows for the whole duration; the table keeps its size,
# so the views' state does too.  Every 10 s: the memory of our processes and
# the views' lag.  PASS when
#   - memory does not grow after the first minute: the dataflow worker's
#     memory contexts, as bytes in use (the "Grand total ... used" of
#     pg_log_backend_memory_contexts), and its heap (RssAnon: private
#     anonymous memory, i.e. what malloc holds); the launcher's and the
#     coordinator's heap.  Each may grow by less than SOAK_MAX_GROWTH percent
#     (default 10) of its value at 60 s; the heaps also by 1 MB (malloc's
#     arenas and trim threshold move by hundreds of kB without any leak).
#     The contexts in use must also grow by less than SOAK_MAX_BYTES_PER_CHANGE
#     (default 16) bytes per row changed in the table after 60 s: a short run
#     stays under 10% even with a leak of a few hundred bytes per
#     transaction, which this catches (the noise measured here is about
#     0.3 MB, 3 bytes per change over 100,000 changes).
#     coordinator.workers.memory_bytes is shown but not judged: it counts
#     the blocks the contexts allocated, which grow in steps of up to 8 MB
#     (11% of this worker) when any context needs one more block.  VmRSS is
#     shown but not judged either: it also counts the shared buffers the
#     process touched, which grows for as long as it touches new ones;
#   - the lag stays bounded: every sample's max(lag) of
#     coordinator.materialization_lag below SOAK_MAX_LAG seconds (default 5);
#   - no crash in the server log, no restart of a worker;
#   - at the end every view equals its query (EXCEPT ALL both ways).
#
#   bash test/long/soak.sh [seconds, default 600]
#
# SOAK_RATE (default 200) caps pgbench's rate in transactions per second
# (3 statements each; 0: as fast as it goes, which on 2 shared cores starves
# everything else), SOAK_ROWS (default 100000), SOAK_VIEWS (names from
# long_view_query in lib.sh), LONG_PORT (default 56301).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECS=${1:-600}
ROWS=${SOAK_ROWS:-100000}
RATE=${SOAK_RATE:-200}
MAX_GROWTH=${SOAK_MAX_GROWTH:-10}
MAX_LAG=${SOAK_MAX_LAG:-5}
MAX_PER_CHANGE=${SOAK_MAX_BYTES_PER_CHANGE:-16}
SLACK_KB=1024
INTERVAL=10
BASELINE_AT=60
VIEWS=${SOAK_VIEWS:-v_agg v_join_agg v_filter}

if [ "$SECS" -lt $((BASELINE_AT + 2 * INTERVAL)) ]; then
	echo "soak.sh: run at least $((BASELINE_AT + 2 * INTERVAL)) seconds (memory is judged from ${BASELINE_AT}s on)" >&2
	exit 2
fi

long_init_instance soak "${LONG_PORT:-56301}"
long_start
say "== server in $LONG_DIR, port $LONG_PORT"
t0=$SECONDS
long_demo_schema "$ROWS" "$VIEWS"
say "== $ROWS rows, views $VIEWS hydrated in $((SECONDS - t0))s"

# one sample, as "name=value" words: the worker's pid and memory contexts
# (bytes), the views' dataflows (bytes), the max lag (s) and lag in WAL
# bytes; then each of our processes' pid and type
sample_sql="
SELECT 'wpid=' || coalesce(string_agg(pid::text, ',' ORDER BY worker), ''),
       'wctx=' || coalesce(sum(memory_bytes), 0),
       'df=' || (SELECT coalesce(sum(dataflow_bytes), 0) FROM coordinator.dataflows),
       'lag=' || (SELECT coalesce(round(extract(epoch FROM max(lag))::numeric, 3), -1) FROM coordinator.materialization_lag),
       'lagb=' || (SELECT coalesce(max(lag_bytes), -1) FROM coordinator.materialization_lag),
       'launches=' || sum(launches),
       'chg=' || (SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relid = 'items'::regclass)
  FROM coordinator.workers"

# kB in use in a process's memory contexts: ask it to log them, then read
# its "Grand total" line from the server log (0 if it did not answer in 10 s)
context_used_kb() {
	local pid=$1 before
	before=$(grep -c "\[$pid\] .*Grand total:" "$LONG_LOG" || true)
	lpsql -c "SELECT pg_log_backend_memory_contexts($pid)" >/dev/null || { echo 0; return; }
	for _ in $(seq 100); do
		if [ "$(grep -c "\[$pid\] .*Grand total:" "$LONG_LOG" || true)" -gt "$before" ]; then
			grep "\[$pid\] .*Grand total:" "$LONG_LOG" | tail -1 | sed 's/.*; \([0-9]*\) used.*/\1/' | awk '{ print int($1 / 1024) }'
			return
		fi
		sleep 0.1
	done
	echo 0
}

SAMPLES=$LONG_DIR/samples.txt
: >"$SAMPLES"
header=$(printf '%6s %9s %9s %9s %9s %9s %9s %9s %8s %10s' "t (s)" "wk used" "wk alloc" "wk anon" "wk rss" "coord" "launcher" "dataflow" "lag (s)" "lag bytes")
take_sample() {
	local t=$1 line pid type anon rss
	line=$(lpsql -F ' ' -c "$sample_sql") || return 0
	local wpid wctx df lag lagb launches chg
	eval "$(printf '%s\n' $line | sed -n 's/^\([a-z]*\)=\(.*\)$/\1="\2"/p')"
	local wanon=0 wrss=0 canon=0 lanon=0 wused=0
	while read -r pid type; do
		[ -n "$pid" ] || continue
		anon=$(long_rss_anon "$pid")
		rss=$(long_vmrss "$pid")
		case $type in
		coordinator_dataflow_worker) wanon=$((wanon + anon)) wrss=$((wrss + rss)) wused=$((wused + $(context_used_kb "$pid"))) ;;
		coordinator) canon=$anon ;;
		coordinator_launcher) lanon=$anon ;;
		esac
	done < <(long_our_pids)
	# kB throughout, except lag: t used alloc anon rss coord launcher
	# dataflow lag lagbytes pid launches rows-changed
	echo "$t $wused $((wctx / 1024)) $wanon $wrss $canon $lanon $((df / 1024)) $lag $lagb $wpid $launches $chg" >>"$SAMPLES"
	awk -v t="$t" '{ printf "%6s %7.1fMB %7.1fMB %7.1fMB %7.1fMB %7.1fMB %7.1fMB %7.1fMB %8s %10s\n", t, $2/1024, $3/1024, $4/1024, $5/1024, $6/1024, $7/1024, $8/1024, $9, $10 }' <<<"$(tail -1 "$SAMPLES")"
}

long_write_script "$ROWS" "$LONG_DIR/writes.sql"
ratearg=()
[ "$RATE" != 0 ] && ratearg=(-R "$RATE")
say "== ${SECS}s of pgbench, 2 clients${ratearg[*]:+, at most $RATE tx/s} (update, group/category move, delete + re-insert); a sample every ${INTERVAL}s"
say "   wk used / wk alloc: the dataflow worker's memory contexts, bytes in use / blocks allocated (coordinator.workers.memory_bytes);"
say "   wk anon / coord / launcher: RssAnon (heap) of the worker, the coordinator, the launcher; wk rss: the worker's VmRSS;"
say "   dataflow: coordinator.dataflows.dataflow_bytes, all views; lag: max over the views"
say "$header"
take_sample 0
long_pgbench "$LONG_DIR/pgbench.out" -c 2 -j 2 "${ratearg[@]}" -T "$SECS" -f "$LONG_DIR/writes.sql"
start=$SECONDS
next=$INTERVAL
while kill -0 "$LONG_PGBENCH_PID" 2>/dev/null; do
	sleep 1
	if [ $((SECONDS - start)) -ge "$next" ]; then
		take_sample "$next"
		next=$((next + INTERVAL))
	fi
done
wait "$LONG_PGBENCH_PID" || say "pgbench exited with $? (its output: $LONG_DIR/pgbench.out)"
say "pgbench: $(long_pgbench_summary "$LONG_DIR/pgbench.out")"
# a strict read waits until the views are current; then the last sample
t1=$SECONDS
lpsql -c "SELECT count(*) FROM v_agg" >/dev/null
say "views current $((SECONDS - t1))s after the load ended"
take_sample end

say "== checks"
# memory: each series from the sample at BASELINE_AT s to the last sample
awk -v base_t="$BASELINE_AT" -v maxg="$MAX_GROWTH" -v slack="$SLACK_KB" '
	BEGIN { split("2 4 6 7", col, " "); split("worker memory contexts in use|worker heap (RssAnon)|coordinator heap (RssAnon)|launcher heap (RssAnon)", name, "|") }
	$1 == base_t { for (i = 1; i <= 4; i++) base[i] = $(col[i]) }
	{ for (i = 1; i <= 4; i++) { last[i] = $(col[i]); if ($(col[i]) > mx[i]) mx[i] = $(col[i]) } }
	END {
		for (i = 1; i <= 4; i++) {
			if (base[i] == "" || base[i] == 0) { printf "FAIL %s: no sample at %ss\n", name[i], base_t; continue }
			g = last[i] - base[i]
			pct = base[i] > 0 ? 100 * g / base[i] : 0
			limit = base[i] * maxg / 100 + (i == 1 ? 0 : slack)
			printf "%s %s: %.1f MB at %ss, %.1f MB at the end (max %.1f MB): %+.1f%% (limit %d%%%s)\n",
				(g < limit ? "ok" : "FAIL"), name[i], base[i] / 1024, base_t, last[i] / 1024, mx[i] / 1024, pct, maxg,
				(i == 1 ? "" : " + 1 MB")
		}
	}' "$SAMPLES" >"$LONG_DIR/memory.txt"
# and per row changed, for the contexts in use
awk -v base_t="$BASELINE_AT" -v maxc="$MAX_PER_CHANGE" '
	$1 == base_t { u0 = $2; c0 = $13 }
	{ u1 = $2; c1 = $13 }
	END {
		n = c1 - c0
		per = n > 0 ? (u1 - u0) * 1024 / n : 0
		printf "%s worker memory contexts in use: %+.1f bytes per row changed after %ss (%d changes; limit %d)\n",
			(per < maxc ? "ok" : "FAIL"), per, base_t, n, maxc
	}' "$SAMPLES" >>"$LONG_DIR/memory.txt"
while read -r verdict rest; do
	if [ "$verdict" = ok ]; then say "  memory: $rest"; else fail "memory: $rest"; fi
done <"$LONG_DIR/memory.txt"

maxlag=$(awk '$9 > m { m = $9 } END { print m + 0 }' "$SAMPLES")
if awk -v m="$maxlag" -v l="$MAX_LAG" 'BEGIN { exit !(m < l) }'; then
	say "  lag: at most ${maxlag}s over the samples (limit ${MAX_LAG}s)"
else
	fail "lag reached ${maxlag}s (limit ${MAX_LAG}s)"
fi
nl=$(awk '{ print $11 "/" $12 }' "$SAMPLES" | sort -u | wc -l)
if [ "$nl" = 1 ]; then
	say "  the dataflow worker ran throughout (pid $(awk 'NR == 1 { print $11 }' "$SAMPLES"))"
else
	fail "the dataflow worker restarted (pid/launches: $(awk '{ print $11 "/" $12 }' "$SAMPLES" | sort -u | paste -sd' '))"
fi
if long_crash_check; then say "  no crash in the server log"; else fail "the server log shows a crash"; fi
long_postmaster_running || fail "the postmaster is not running"
long_check_views
long_finish "soak ${SECS}s"
