#!/usr/bin/env bash
# What a compute server would cost the primary (docs/scale-out.md): the
# primary's CPU per single-row UPDATE spent decoding for one native logical
# replication subscription (its walsender, pgoutput), against the CPU our
# dataflow worker spends per UPDATE decoding and maintaining one view on the
# primary; and the primary's WAL per UPDATE with the replica identity each
# needs (a primary key, or REPLICA IDENTITY FULL, alone and with the
# view's own writes).  Two throwaway servers
# on this machine: the primary and a subscriber.  CPU is each process's
# time on CPU (/proc/PID/stat, utime + stime) over the run.  Then the
# primary's single-row UPDATE throughput (pgbench, 2 clients, runs of
# SECS seconds, two each, alternating) with no view, with three maintained
# views on the primary, and with the same three views on the subscriber as
# a compute server (scripts/compute_server.sh); and the latency of a
# strict read on the compute server after a write on the primary (token,
# coordinator.read_after).  One run; asserts nothing.
#
#   bash test/bench/scale_out_cost.sh [updates [secs]]      default 20000 10
#
# COORDINATOR_BENCH_PORT sets the primary's port (default 5499; the
# subscriber uses the next).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

N=${1:-20000}
SECS=${2:-10}
start_bench_server "${COORDINATOR_BENCH_PORT:-5499}"
PRIMARY_DIR=$DIR
SUB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/coordinator-bench-sub.XXXXXX")
SUB_PORT=$((PORT + 1))
init_throwaway_server "$SUB_DIR" "$SUB_PORT"
as_pg "$PG_BIN/pg_ctl" -D "$SUB_DIR/data" -l "$SUB_DIR/server.log" -w start >/dev/null
trap 'as_pg "$PG_BIN/pg_ctl" -D "$SUB_DIR/data" -m fast stop >/dev/null; rm -rf "$SUB_DIR";
      as_pg "$PG_BIN/pg_ctl" -D "$PRIMARY_DIR/data" -m fast stop >/dev/null; rm -rf "$PRIMARY_DIR"' EXIT
sub_() { as_pg "$PG_BIN/psql" -h "$SUB_DIR" -p "$SUB_PORT" -d postgres -qAt "$@"; }

TABLE="(id int PRIMARY KEY, customer int, amount numeric, status text, note text)"
LOAD="SELECT i, i % 1000, (i % 997) * 1.25, 'open', md5(i::text) FROM generate_series(1, 100000) i"
psql_ <<SQL >/dev/null
CREATE EXTENSION coordinator;
CREATE TABLE pub_t $TABLE;
CREATE TABLE view_t $TABLE;
CREATE TABLE full_t $TABLE;
ALTER TABLE full_t REPLICA IDENTITY FULL;
INSERT INTO pub_t $LOAD;
INSERT INTO view_t $LOAD;
INSERT INTO full_t $LOAD;
CREATE PUBLICATION coordinator_bench FOR TABLE pub_t;
SQL
sub_ <<SQL >/dev/null
CREATE TABLE pub_t $TABLE;
CREATE SUBSCRIPTION coordinator_bench CONNECTION 'host=$PRIMARY_DIR port=$PORT dbname=postgres'
  PUBLICATION coordinator_bench;
SQL
# the initial copy
for _ in $(seq 600); do
	[ "$(sub_ -c 'SELECT count(*) FROM pub_t')" = 100000 ] && break
	sleep 0.1
done

cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)

# until the consumer of table $1 has caught up with the primary's WAL
settle() {
	if [ "$1" = full_t ]; then
		return
	elif [ "$1" = pub_t ]; then
		for _ in $(seq 1200); do
			[ "$(psql_ -c "SELECT replay_lsn >= pg_current_wal_lsn() FROM pg_stat_replication")" = t ] && return
			sleep 0.1
		done
	else
		psql_ -c "SELECT count(*) FROM v" >/dev/null	# a strict read waits
	fi
}

# N single-row UPDATEs of table $1, one per transaction, by one client;
# prints the WAL bytes per UPDATE and the CPU ms of process $2 per 1,000
update_run() {
	local table=$1 pid=$2 c0 c1 w0 w1
	psql_ -c "CHECKPOINT" >/dev/null
	# every page imaged once before the measured run
	psql_ -c "UPDATE $table SET amount = amount + 1" >/dev/null
	settle "$table"
	c0=$(cpu_of "$pid")
	w0=$(psql_ -c "SELECT pg_current_wal_insert_lsn()")
	psql_ -c "DO \$\$ BEGIN FOR i IN 1 .. $N LOOP
		UPDATE $table SET amount = amount + 1 WHERE id = 1 + (i * 7919) % 100000; COMMIT; END LOOP; END \$\$" >/dev/null
	w1=$(psql_ -c "SELECT pg_current_wal_insert_lsn()")
	settle "$table"
	c1=$(cpu_of "$pid")
	awk -v w="$(psql_ -c "SELECT '$w1'::pg_lsn - '$w0'::pg_lsn")" -v c="$((c1 - c0))" -v t="$ticks" -v n="$N" \
		'BEGIN { printf "%.0f %.1f", w / n, c * 1000 / t / n * 1000 }'
}

walsender=$(psql_ -c "SELECT pid FROM pg_stat_replication LIMIT 1")
read -r wal_sub cpu_sub <<<"$(update_run pub_t "$walsender")"
# the same UPDATEs of a table with REPLICA IDENTITY FULL that nothing reads
read -r wal_full _ <<<"$(update_run full_t "$walsender")"

psql_ -c "SET client_min_messages = warning" \
	-c "CREATE MATERIALIZED VIEW v WITH (incremental) AS SELECT customer, count(*), sum(amount) FROM view_t GROUP BY customer" \
	-c "SELECT count(*) FROM v" >/dev/null
worker=$(psql_ -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'coordinator dataflow worker' LIMIT 1")
read -r wal_view cpu_view <<<"$(update_run view_t "$worker")"

equal=$(sub_ -c "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM pub_t t")
[ "$equal" = "$(psql_ -c "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM pub_t t")" ] && equal=yes || equal=no

# throughput: tn (no view), tv (three views on the primary), tc (three
# views on the compute server); tv has REPLICA IDENTITY FULL, tn and tc
# only their primary key
psql_ <<SQL >/dev/null
SET client_min_messages = warning;
CREATE TABLE tn $TABLE;
CREATE TABLE tv $TABLE;
CREATE TABLE tc $TABLE;
INSERT INTO tn $LOAD;
INSERT INTO tv $LOAD;
INSERT INTO tc $LOAD;
VACUUM ANALYZE tn, tv, tc;
SQL
VIEWS=("SELECT customer, count(*) AS n, sum(amount) AS s FROM %s GROUP BY customer"
	"SELECT status, count(*) AS n FROM %s GROUP BY status"
	"SELECT id, amount FROM %s WHERE amount > 1000")
for i in 0 1 2; do
	psql_ -c "SET client_min_messages = warning" \
		-c "CREATE MATERIALIZED VIEW tv_$i WITH (incremental) AS $(printf "${VIEWS[$i]}" tv)" >/dev/null
done
sub_ -c "CREATE EXTENSION dblink" >/dev/null
as_pg bash "$ROOT/scripts/compute_server.sh" "host=$PRIMARY_DIR port=$PORT dbname=postgres" \
	"host=$SUB_DIR port=$SUB_PORT dbname=postgres" coordinator_compute tc >/dev/null 2>&1
for _ in $(seq 600); do
	[ "$(sub_ -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ] && break
	sleep 0.1
done
for i in 0 1 2; do
	sub_ -c "SET client_min_messages = warning" \
		-c "CREATE MATERIALIZED VIEW tc_$i WITH (incremental) AS $(printf "${VIEWS[$i]}" tc)" \
		-c "SELECT count(*) FROM tc_$i" >/dev/null
done
psql_ -c "SELECT count(*) FROM tv_0" >/dev/null
for t in tn tv tc; do
	as_pg tee "$PRIMARY_DIR/update_$t.sql" >/dev/null <<SQL
\set id random(1, 100000)
UPDATE $t SET amount = amount + 1 WHERE id = :id;
SQL
done
declare -A TPS
for run in 1 2; do
	for t in tn tv tc; do
		TPS[$t]+=" $(as_pg "$PG_BIN/pgbench" -n -c 2 -j 2 -T "$SECS" -f "$PRIMARY_DIR/update_$t.sql" \
			-h "$PRIMARY_DIR" -p "$PORT" postgres 2>/dev/null | awk '/^tps/ { printf "%.0f", $3 }')"
	done
done
mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }' <<<"$1"; }

# a strict read on the compute server after a write on the primary
P="host=$PRIMARY_DIR port=$PORT dbname=postgres"
{
	echo "SELECT dblink_connect('p', '$P');"
	for i in $(seq 200); do
		echo "SELECT tok FROM dblink('p', 'UPDATE tc SET amount = amount + 1 WHERE id = $i; SELECT coordinator.timestamp_token()') AS x(tok pg_lsn) \\gset"
		echo '\timing on'
		echo "SET coordinator.read_after = :'tok';"
		echo "SELECT count(*) FROM tc_0;"
		echo '\timing off'
	done
} >"$SUB_DIR/reads.sql"
chmod a+r "$SUB_DIR/reads.sql"
read_ms=$(sub_ -f "$SUB_DIR/reads.sql" 2>/dev/null | awk '/^Time:/ { t += $2; if (++k % 2 == 0) { print t; t = 0 } }' |
	sort -n | awk '{ a[NR] = $1 } END { printf "p50 %.2f ms, p90 %.2f ms", a[int(NR * 0.5 + 0.5)], a[int(NR * 0.9 + 0.5)] }')

echo "== the primary's cost per single-row UPDATE ($N UPDATEs, one client, one per transaction; 2 cores shared by both servers)"
echo "| | WAL per UPDATE | CPU per 1,000 UPDATEs on the primary |"
echo "|---|---|---|"
echo "| a subscription (walsender, pgoutput); table with a primary key | $wal_sub bytes | $cpu_sub ms (the walsender) |"
echo "| nothing reads it; REPLICA IDENTITY FULL | $wal_full bytes | |"
echo "| a maintained view on the primary (aggregate by customer); REPLICA IDENTITY FULL | $wal_view bytes | $cpu_view ms (the dataflow worker: decoding, maintaining, writing the view) |"
echo
echo "The subscriber's copy equals the primary's table: $equal."

echo
echo "== the primary's single-row UPDATE throughput (pgbench, 2 clients, 2 runs of $SECS s each, alternating; both servers share the 2 cores)"
echo "| | tps (runs) | / no view |"
echo "|---|---|---|"
echo "| no view | $(mean "${TPS[tn]}") (${TPS[tn]# }) | 1.00 |"
echo "| three views on the primary | $(mean "${TPS[tv]}") (${TPS[tv]# }) | $(awk -v a="$(mean "${TPS[tv]}")" -v b="$(mean "${TPS[tn]}")" 'BEGIN { printf "%.2f", a / b }') |"
echo "| three views on the compute server | $(mean "${TPS[tc]}") (${TPS[tc]# }) | $(awk -v a="$(mean "${TPS[tc]}")" -v b="$(mean "${TPS[tn]}")" 'BEGIN { printf "%.2f", a / b }') |"
echo
echo "A strict read on the compute server right after a write on the primary (SET coordinator.read_after to the token and SELECT, 200 rounds): $read_ms."
