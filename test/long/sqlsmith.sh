#!/usr/bin/env bash
# sqlsmith against a server with maintained views: random queries (and
# random INSERT/UPDATE/DELETE/MERGE, which sqlsmith always rolls back) for a
# bounded time, while a light pgbench write load keeps the dataflow worker
# busy.  PASS when the server never crashed (no backend or worker killed by a
# signal, no crash-restart, the postmaster still running) and at the end
# every maintained view equals its query (EXCEPT ALL both ways).
#
#   bash test/long/sqlsmith.sh [seconds, default 300]
#
# SQLSMITH_SUPERUSER=1 runs sqlsmith as the superuser (it then also calls
# superuser-only functions, coordinator.debug_pause_workers included, and
# may create replication slots with random names); by default it runs as an
# ordinary role with SELECT/INSERT/UPDATE/DELETE on the tables and SELECT
# on the views.  SQLSMITH_ROWS (default 5000) sizes the table,
# SQLSMITH_RATE (default 20) the write load in transactions per second,
# LONG_PORT (default 56101) the server's port.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECS=${1:-300}
ROWS=${SQLSMITH_ROWS:-5000}
RATE=${SQLSMITH_RATE:-20}
CHUNK=60 # seconds per sqlsmith run (each run ends with its own report)

if ! command -v sqlsmith >/dev/null 2>&1; then
	say "== installing sqlsmith"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlsmith >/dev/null
fi

long_init_instance sqlsmith "${LONG_PORT:-56101}"
long_start
say "== server in $LONG_DIR, port $LONG_PORT; $ROWS rows, views: $LONG_ALL_VIEWS"
long_demo_schema "$ROWS" "$LONG_ALL_VIEWS"
# sqlsmith learns its relations from information_schema.tables, which has
# no materialized views: a plain view over each lets its queries read them
for v in $LONG_ALL_VIEWS; do
	echo "CREATE VIEW s$v AS SELECT * FROM $v;"
done | lpsql

SMITH_USER=smith
if [ "${SQLSMITH_SUPERUSER:-0}" = 1 ]; then
	SMITH_USER=$(lpsql -c "SELECT current_user")
else
	# its errors (most of its queries) are not worth logging; the server's
	# own messages, and the workers', still are
	lpsql >/dev/null <<'SQL'
CREATE ROLE smith LOGIN;
ALTER ROLE smith SET log_min_messages = log;
ALTER ROLE smith SET log_min_error_statement = panic;
GRANT SELECT, INSERT, UPDATE, DELETE ON items, cats TO smith;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO smith;
SQL
fi
TARGET="host=$LONG_DIR port=$LONG_PORT dbname=postgres user=$SMITH_USER"
START_PM=$(long_postmaster_pid)

# the write load, for the whole duration
long_write_script "$ROWS" "$LONG_DIR/writes.sql"
long_pgbench "$LONG_DIR/pgbench.out" -c 1 -R "$RATE" -T "$SECS" -f "$LONG_DIR/writes.sql"

say "== sqlsmith $(sqlsmith --version 2>&1 | head -1) as $SMITH_USER for ${SECS}s (runs of ${CHUNK}s, each its own seed), pgbench ${RATE} tx/s"
start=$SECONDS
run=0
while [ $((SECONDS - start)) -lt "$SECS" ]; do
	left=$((SECS - (SECONDS - start)))
	[ "$left" -lt "$CHUNK" ] && chunk=$left || chunk=$CHUNK
	run=$((run + 1))
	seed=$((run * 7919 + ${SQLSMITH_SEED:-0}))
	# SIGINT makes sqlsmith print its report and exit; -k in case it hangs
	set +e
	timeout -s INT -k 30 "$chunk" sqlsmith --target="$TARGET" --verbose --dump-all-queries --exclude-catalog --seed="$seed" \
		>"$LONG_DIR/sqlsmith.$run.out" 2>"$LONG_DIR/sqlsmith.$run.err"
	rc=$?
	set -e
	queries=$(awk '/^queries: / { q = $2 } END { print q + 0 }' "$LONG_DIR/sqlsmith.$run.err")
	say "  run $run (seed $seed, ${chunk}s): $queries queries, exit $rc"
	if ! long_postmaster_running; then
		fail "the postmaster is gone after sqlsmith run $run"
		break
	fi
	if ! long_crash_check >/dev/null; then
		say "  a crash appeared in the server log during run $run (seed $seed)"
		break
	fi
	if [ "$queries" = 0 ]; then
		say "  sqlsmith run $run made no query; its output:"
		tail -5 "$LONG_DIR/sqlsmith.$run.err"
		[ "$run" -ge 3 ] && { fail "sqlsmith does not run"; break; }
		sleep 2
	fi
done
# pgbench ends by itself (or at once if the server went away)
wait "$LONG_PGBENCH_PID" || say "pgbench exited with $? (its output: $LONG_DIR/pgbench.out)"

# counts over all runs: the final report of each ("queries: N", then
# "count<TAB>message" per distinct error); the progress characters give
# the kinds: . ok, e error, t timeout, s syntax, c/C connection lost
# each run's final report (sqlsmith also prints cumulative ones every 800
# queries): "queries: N", then "count<TAB>message" per distinct error
for f in "$LONG_DIR"/sqlsmith.*.err; do
	awk '/^queries: / { from = NR } { line[NR] = $0 } END { if (from) for (i = from; i <= NR; i++) print line[i] }' "$f"
done >"$LONG_DIR/sqlsmith.reports"
# the progress characters give the kinds: . ok, e error, t timeout,
# s syntax, c/C connection lost
cat "$LONG_DIR"/sqlsmith.*.err | grep -E '^[.etsScC]+$' >"$LONG_DIR/sqlsmith.marks" || true
awk '
	FILENAME == ARGV[1] { for (i = 1; i <= length($0); i++) kind[substr($0, i, 1)]++; next }
	/^queries: / { q += $2; inrep = 1; next }
	inrep && /^[0-9]+\t/ { n = $1; sub(/^[0-9]+\t/, ""); err[$0] += n; errs += n; next }
	/^error rate:/ { inrep = 0; next }
	END {
		printf "sqlsmith: %d queries, %d errors (%.1f%%); progress marks: %d ok, %d error, %d timeout, %d syntax, %d connection lost\n",
			q, errs, q ? 100 * errs / q : 0, kind["."], kind["e"], kind["t"], kind["s"] + kind["S"], kind["c"] + kind["C"]
		n = 0
		for (m in err) n++
		printf "distinct error messages: %d; the most frequent:\n", n
		for (m in err) printf "%8d  %s\n", err[m], m | "sort -rn | head -15"
	}' "$LONG_DIR/sqlsmith.marks" "$LONG_DIR/sqlsmith.reports"
# the queries themselves (stdout, each ending with ";"): how many reached
# the extension
cat "$LONG_DIR"/sqlsmith.*.out | awk 'BEGIN { RS = ";\n" }
	NF { n++ } /public\.sv_[a-z_]+/ { v++ } /coordinator\./ { c++ }
	END { printf "queries reading a maintained view: %d of %d; using a coordinator.* relation or function: %d\n", v, n, c }'
grep -ihE 'maintained|coordinator|subscri|dataflow|webhook|as_of' "$LONG_DIR/sqlsmith.reports" |
	awk '/^[0-9]+\t/ { n = $1; sub(/^[0-9]+\t/, ""); e[$0] += n } END { for (m in e) printf "%8d  %s\n", e[m], m }' |
	sort -rn | head -10 >"$LONG_DIR/sqlsmith.ours" || true
if [ -s "$LONG_DIR/sqlsmith.ours" ]; then
	say "errors that mention the extension's objects:"
	cat "$LONG_DIR/sqlsmith.ours"
fi
say "pgbench: $(long_pgbench_summary "$LONG_DIR/pgbench.out")"
grep -q '[cC]' "$LONG_DIR/sqlsmith.marks" &&
	say "note: sqlsmith lost its connection at least once (see the server log)"

say "== checks"
if long_postmaster_running && [ "$(long_postmaster_pid)" = "$START_PM" ]; then
	say "  the postmaster ($START_PM) still runs"
else
	fail "the postmaster is not running"
fi
if long_crash_check; then
	say "  no crash in the server log"
else
	fail "the server log shows a crash"
	grep -E -A3 "$LONG_CRASH_RE" "$LONG_LOG" | grep -E 'Failed process was running' | head -5 || true
fi
# worker errors are not crashes, but a fuzz query should not cause them
werr=$(grep -cE 'background worker "coordinator[^"]*" \(PID [0-9]+\) exited with exit code 1' "$LONG_LOG" || true)
[ "$werr" = 0 ] || {
	say "  note: $werr exit(s) of a coordinator process with an ERROR:"
	grep -E '(coordinator|dataflow).*(ERROR|FATAL):' "$LONG_LOG" | head -5 || true
}
if long_postmaster_running; then
	[ "${SQLSMITH_SUPERUSER:-0}" = 1 ] && lpsql -c "SELECT coordinator.debug_pause_workers(false)" >/dev/null
	say "  workers: $(lpsql -F ' ' -c "SELECT string_agg(format('worker %s: %s, %s launch(es)', worker, state, launches), '; ') FROM coordinator.workers")"
	long_check_views
fi
long_finish "sqlsmith ${SECS}s"
