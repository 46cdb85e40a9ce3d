#!/usr/bin/env bash
# Shared by the long-running checks in test/long/: a throwaway server
# (start, stop, remove), the demo schema with its maintained views, a
# write-load script for pgbench, the crash scan of the server log and the
# "every view equals its query" check.  Sourced, never run.
#
# The server runs as the `postgres` OS user when we are root (Postgres
# refuses root), as ourselves otherwise; it listens only on a unix socket in
# its own directory /tmp/coordinator-long-<name>.XXXXXX, so two checks never collide.
# LONG_KEEP=1 keeps the directory (data, logs) after a PASS; after a FAIL it
# is always kept and its path printed.

# ROOT, PG_BIN, as_root, as_pg, pkg_version, init_throwaway_server
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

LONG_NAME=${LONG_NAME:-long}
LONG_DIR=""          # the instance's directory (socket, logs); data in $LONG_DIR/data
LONG_PORT=""
LONG_LOG=""          # the server log
LONG_RESULT=""       # PASS or FAIL once long_finish ran
LONG_BG_PIDS=()      # background jobs (pgbench, sqlsmith...) to end on exit
LONG_FAILURES=()     # reasons, printed by long_finish

say() { printf '%s\n' "$*"; }
fail() { LONG_FAILURES+=("$*"); say "FAIL: $*"; }

# psql on the instance, unaligned, tuples only, stopping at the first error.
lpsql() { as_pg "$PG_BIN/psql" -X -h "$LONG_DIR" -p "$LONG_PORT" -d "${LONG_DB:-postgres}" -qAt -v ON_ERROR_STOP=1 "$@"; }

# Create a throwaway cluster: long_init_instance NAME PORT [extra conf lines].
# The ports are those of the brief (56000-56999); the socket lives in the
# instance's own directory, so a port taken by someone else's server on
# another socket directory does not matter.
long_init_instance() {
	local name=$1 port=$2 extra=${3:-}
	LONG_NAME=$name
	LONG_PORT=$port
	LONG_DIR=$(mktemp -d "/tmp/coordinator-long-$name.XXXXXX")
	chmod 755 "$LONG_DIR"
	[ "$(id -u)" = 0 ] && chown "$PG_OS_USER" "$LONG_DIR"
	LONG_LOG=$LONG_DIR/server.log
	trap long_on_exit EXIT
	trap 'exit 130' INT TERM
	# the common throwaway server (scripts/common.sh), then our settings
	init_throwaway_server "$LONG_DIR" "$port"
	as_pg tee -a "$LONG_DIR/data/postgresql.conf" >/dev/null <<CONF

# test/long ($name)
max_replication_slots = 10
max_worker_processes = 16
logging_collector = off
log_line_prefix = '%m [%p] %b '
$extra
CONF
}

# Start with pg_ctl (the server's output goes to $LONG_LOG).
long_start() {
	as_pg "$PG_BIN/pg_ctl" -D "$LONG_DIR/data" -l "$LONG_LOG" -w -t 120 start >/dev/null ||
		{ tail -30 "$LONG_LOG"; exit 1; }
}

long_postmaster_pid() { head -1 "$LONG_DIR/data/postmaster.pid" 2>/dev/null || true; }

long_postmaster_running() {
	local pid
	pid=$(long_postmaster_pid)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

long_stop() {
	if long_postmaster_running; then
		as_pg "$PG_BIN/pg_ctl" -D "$LONG_DIR/data" -m fast -w -t "${LONG_STOP_TIMEOUT:-120}" stop >/dev/null 2>&1 ||
			as_pg "$PG_BIN/pg_ctl" -D "$LONG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
}

# Register a background job of ours, ended (by its pid) on exit.
long_bg() { LONG_BG_PIDS+=("$1"); }

long_on_exit() {
	local rc=$? pid
	for pid in "${LONG_BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${LONG_BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	[ -n "$LONG_DIR" ] || return
	long_stop
	if [ "$LONG_RESULT" = PASS ] && [ "$rc" = 0 ] && [ "${LONG_KEEP:-0}" != 1 ]; then
		rm -rf "$LONG_DIR"
	else
		say "kept: $LONG_DIR (server.log and the check's own files)"
	fi
}

# Print the final line and exit with its status: PASS when nothing failed.
long_finish() {
	local what=$1
	if [ ${#LONG_FAILURES[@]} -eq 0 ]; then
		LONG_RESULT=PASS
		say "PASS: $what"
		exit 0
	fi
	LONG_RESULT=FAIL
	say "FAIL: $what (${#LONG_FAILURES[@]} problem(s): $(printf '%s; ' "${LONG_FAILURES[@]}"))"
	exit 1
}

# The demo schema: items (ROWS rows, constant in size under the write load),
# cats (100 rows).  Then the maintained views named by VIEWS (a list of
# names from long_view_query; LONG_ALL_VIEWS is the usual set), each waited for (a strict read returns once
# the view is hydrated and current).
LONG_ALL_VIEWS="v_filter v_agg v_join v_join_agg v_distinct v_subquery v_exists v_in"
long_view_query() {
	case $1 in
	v_filter)   echo "SELECT id, grp, amount, note FROM items WHERE amount >= 900" ;;
	v_agg)      echo "SELECT grp, count(*) AS n, sum(amount) AS total, min(amount) AS lo, max(amount) AS hi FROM items GROUP BY grp" ;;
	v_join)     echo "SELECT i.id, i.amount, c.label FROM items i JOIN cats c ON c.cat = i.cat WHERE i.id % 7 = 0" ;;
	v_join_agg) echo "SELECT c.label, count(*) AS n, sum(i.amount) AS total FROM items i JOIN cats c ON c.cat = i.cat GROUP BY c.label" ;;
	# the same grouped by an int: no text in the reduce's output
	v_join_agg_int) echo "SELECT c.cat, count(*) AS n, sum(i.amount) AS total FROM items i JOIN cats c ON c.cat = i.cat GROUP BY c.cat" ;;
	v_distinct) echo "SELECT DISTINCT cat, amount % 10 AS digit FROM items" ;;
	v_subquery) echo "SELECT g.grp, g.n FROM (SELECT grp, count(*) AS n, avg(amount) AS a FROM items GROUP BY grp) g WHERE g.a > 480" ;;
	v_exists)   echo "SELECT c.cat, c.label FROM cats c WHERE EXISTS (SELECT 1 FROM items i WHERE i.cat = c.cat AND i.amount > 995)" ;;
	v_in)       echo "SELECT id, cat, amount FROM items WHERE cat IN (SELECT cat FROM cats WHERE label LIKE '%7%') AND amount < 50" ;;
	*) echo "long_view_query: unknown view $1" >&2; return 1 ;;
	esac
}

long_demo_schema() {
	local rows=$1 views=$2 v
	{
		echo "SET client_min_messages = warning;"
		echo "CREATE EXTENSION coordinator;"
		cat <<SQL
CREATE TABLE items (id int PRIMARY KEY, grp int NOT NULL, cat int NOT NULL, amount numeric NOT NULL, note text);
CREATE TABLE cats (cat int PRIMARY KEY, label text NOT NULL);
INSERT INTO cats SELECT c, 'category ' || c FROM generate_series(0, 99) c;
INSERT INTO items SELECT i, i % 1000, (i * 31) % 100, (i * 7919) % 1001, 'note ' || i FROM generate_series(1, $rows) i;
ALTER TABLE items REPLICA IDENTITY FULL;
ALTER TABLE cats REPLICA IDENTITY FULL;
VACUUM ANALYZE items, cats;
SQL
		for v in $views; do
			echo "CREATE MATERIALIZED VIEW $v WITH (incremental) AS $(long_view_query "$v");"
		done
		for v in $views; do
			echo "SELECT count(*) FROM $v;"
		done
	} | lpsql >/dev/null
}

# A pgbench script: one transaction each of an update in place, a move to
# another group and category, and a delete with re-insert of the same id (only
# if this client deleted it), so the table keeps its ROWS rows.
long_write_script() {
	local rows=$1 file=$2
	cat >"$file" <<SQL
\set k random(1, $rows)
\set v random(0, 1000)
UPDATE items SET amount = :v WHERE id = :k;
\set k random(1, $rows)
\set g random(0, 999)
\set c random(0, 99)
UPDATE items SET grp = :g, cat = :c WHERE id = :k;
\set k random(1, $rows)
WITH d AS (DELETE FROM items WHERE id = :k RETURNING id, grp, cat)
INSERT INTO items SELECT id, grp, cat, :v, 'reinserted' FROM d;
SQL
	chmod a+r "$file"
}

# pgbench against the instance in the background: long_pgbench OUT ARGS...
long_pgbench() {
	local out=$1
	shift
	as_pg "$PG_BIN/pgbench" -n -h "$LONG_DIR" -p "$LONG_PORT" "$@" postgres >"$out" 2>&1 &
	LONG_PGBENCH_PID=$!
	long_bg "$LONG_PGBENCH_PID"
}

long_pgbench_summary() {
	awk '/^number of transactions actually processed/ { n = $NF }
	     /^number of failed transactions/ { f = $5 }
	     /^tps/ { t = $3 }
	     END { printf "%s transactions, %s tps%s", n, t, (f != "" ? ", " f " failed" : "") }' "$1"
}

# Crashes in the server log: a backend or worker killed by a signal (or
# exiting abnormally, which makes the postmaster reinitialize), a PANIC, or
# an assertion.  Prints the lines and returns 1 if there are any.
LONG_CRASH_RE='terminated by signal|server process .* was terminated|terminating any other active server processes|exited with exit code ([2-9]|[1-9][0-9]+)|PANIC:|TRAP:|all server processes terminated; reinitializing'
long_crash_check() {
	local log=${1:-$LONG_LOG} hits
	hits=$(grep -E "$LONG_CRASH_RE" "$log" || true)
	if [ -n "$hits" ]; then
		say "---- crash lines in $log:"
		printf '%s\n' "$hits" | head -40
		return 1
	fi
	return 0
}

# Every maintained view must equal its query: EXCEPT ALL both ways empty,
# state running, no error.  Prints one line per view; records failures.
# (The query is the view's definition as Postgres deparses it.)
long_check_views() {
	local out name diff state err
	out=$(lpsql -F '|' <<'SQL'
SET statement_timeout = '600s';
SELECT format('SELECT %L, %L, %L, (SELECT count(*) FROM (TABLE %s EXCEPT ALL (%s)) a) + (SELECT count(*) FROM ((%s) EXCEPT ALL TABLE %s) b)',
              o.name, o.state, coalesce(o.last_error, ''), o.name, q, q, o.name)
  FROM (SELECT name, state, last_error, rtrim(pg_get_viewdef(relid, true), '; ') AS q
          FROM coordinator.objects) o
 ORDER BY o.name::text
\gexec
SQL
) || { fail "could not compare the views with their queries"; return; }
	local n=0
	while IFS='|' read -r name state err diff; do
		[ -n "$name" ] || continue
		n=$((n + 1))
		if [ "$diff" = 0 ] && [ "$state" = running ] && [ -z "$err" ]; then
			say "  $name: equals its query"
		else
			fail "view $name: $diff rows differ from its query (state $state${err:+, error: $err})"
		fi
	done <<<"$out"
	[ "$n" -gt 0 ] || fail "no maintained view to check"
}

# Our processes: pid and backend_type (launcher, coordinator, dataflow
# workers, webhook listener).
long_our_pids() {
	lpsql -F ' ' -c "SELECT pid, replace(backend_type, ' ', '_') FROM pg_stat_activity WHERE backend_type LIKE 'coordinator%' ORDER BY backend_type, pid"
}

# kB of a process's private anonymous memory (its heap: RssAnon), and its VmRSS
# (which also counts the shared buffers it touched).
long_rss_anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
long_vmrss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
