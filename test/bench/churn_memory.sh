#!/usr/bin/env bash
# Memory of maintained views under steady churn: pgbench updates (group-key
# moves included), deletes and re-inserts rows of a 100,000-row table whose
# size stays constant, while the dataflows' memory is sampled every 10 s;
# then the same views are created afresh over the final data and the
# churned dataflows' bytes are compared with theirs.  One run, on a
# throwaway server; reports ratios, asserts nothing.
#
#   bash test/bench/churn_memory.sh [seconds of churn, default 120]
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

SECS=${1:-120}
ROWS=100000
start_bench_server 5497

# churn: ROWS rows, k unique, in 1,000 groups; grps: a label per group
AGG="SELECT grp, count(*) AS n, sum(v) AS total, min(v) AS lo, max(v) AS hi FROM churn GROUP BY grp"
JOIN="SELECT c.k, c.v, g.label FROM churn c JOIN grps g ON c.grp = g.grp"
psql_ >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION coordinator;
CREATE TABLE churn (k int, grp int, v numeric);
CREATE TABLE grps (grp int, label text);
INSERT INTO churn SELECT i, i % 1000, (i * 7919) % 1001 FROM generate_series(1, $ROWS) i;
INSERT INTO grps SELECT g, 'group ' || g FROM generate_series(0, 999) g;
CREATE INDEX ON churn (k);
ALTER TABLE churn REPLICA IDENTITY FULL;
ALTER TABLE grps REPLICA IDENTITY FULL;
VACUUM ANALYZE churn, grps;
CREATE MATERIALIZED VIEW agg_churned WITH (incremental) AS $AGG;
CREATE MATERIALIZED VIEW join_churned WITH (incremental) AS $JOIN;
SELECT count(*) FROM agg_churned; SELECT count(*) FROM join_churned;
SQL

# one transaction each: update v in place; move a row to another group;
# delete a row and re-insert its k (only if this client deleted it, so two
# clients on the same k leave one row, and the table keeps ROWS rows)
cat >"$DIR/churn.sql" <<SQL
\set k random(1, $ROWS)
\set g random(0, 999)
\set v random(0, 1000)
UPDATE churn SET v = :v WHERE k = :k;
\set k random(1, $ROWS)
UPDATE churn SET grp = :g, v = :v WHERE k = :k;
\set k random(1, $ROWS)
WITH d AS (DELETE FROM churn WHERE k = :k RETURNING k) INSERT INTO churn SELECT k, :g, :v FROM d;
SQL
chmod a+r "$DIR/churn.sql"

# one sample: MB per view's dataflow, rows arranged, arrangements' MB, the
# workers' process memory and the part of it outside the dataflows, the
# views' lag in WAL bytes
sample() {
	psql_ -F ' ' <<'SQL'
WITH d AS (SELECT sum(dataflow_bytes) FILTER (WHERE object = 'agg_churned'::regclass) AS agg,
                  sum(dataflow_bytes) FILTER (WHERE object = 'join_churned'::regclass) AS j,
                  sum(dataflow_bytes) AS b, sum(arranged_rows) AS r FROM coordinator.dataflows),
     w AS (SELECT sum(memory_bytes) AS m FROM coordinator.workers)
SELECT round(agg / 1048576.0, 2), round(j / 1048576.0, 2), r,
       (SELECT round(sum(bytes) / 1048576.0, 2) FROM coordinator.arrangements),
       round(m / 1048576.0, 2), round((m - b) / 1048576.0, 2),
       (SELECT max(lag_bytes) FROM coordinator.materialization_lag)
  FROM d, w;
SQL
}

echo "== $ROWS rows, ${SECS}s of churn (pgbench, 2 clients: update, group move, delete + re-insert)"
printf '%6s %8s %8s %9s %12s %10s %9s %10s\n' "t (s)" "agg MB" "join MB" "arranged" "arrangem. MB" "worker MB" "other MB" "lag bytes"
fmt() { awk -v t="$1" '{ printf "%6s %8s %8s %9s %12s %10s %9s %10s\n", t, $1, $2, $3, $4, $5, $6, $7 }'; }
sample | fmt 0
as_pg "$PG_BIN/pgbench" -n -c 2 -j 2 -T "$SECS" -f "$DIR/churn.sql" -h "$DIR" -p "$PORT" postgres \
	>"$DIR/pgbench.out" 2>&1 &
pgb=$!
start=$SECONDS
while sleep 10 && kill -0 "$pgb" 2>/dev/null; do
	sample | fmt $((SECONDS - start))
done
wait "$pgb" || echo "pgbench exited with $?"
echo "pgbench: $(awk '/^number of transactions actually processed/ { print $NF } /^tps/ { print $3 " tps" }' "$DIR/pgbench.out" | paste -sd' ') (transactions of 3 statements)"

# strict reads wait until the churned views are current
psql_ -c "SELECT count(*) FROM agg_churned" -c "SELECT count(*) FROM join_churned" >/dev/null
sample | fmt "end"
echo "table: $(psql_ -c "SELECT count(*) FROM churn") rows"

# the same views built afresh over the same final data
psql_ >/dev/null <<SQL
SET client_min_messages = warning;
CREATE MATERIALIZED VIEW agg_fresh WITH (incremental) AS $AGG;
CREATE MATERIALIZED VIEW join_fresh WITH (incremental) AS $JOIN;
SELECT count(*) FROM agg_fresh; SELECT count(*) FROM join_fresh;
SQL

# bytes and rows of a view's dataflow, and the sum of its arrangements' bytes
stats() {
	psql_ -F ' ' -c "SELECT d.dataflow_bytes, d.arranged_rows, (SELECT sum(bytes) FROM coordinator.arrangements a WHERE a.object = d.object)
	                 FROM coordinator.dataflows d WHERE d.object = '$1'::regclass"
}
echo "== churned vs fresh (same final data)"
for view in agg join; do
	read -r cb cr ca <<<"$(stats ${view}_churned)"
	read -r fb fr fa <<<"$(stats ${view}_fresh)"
	awk -v n="$view" -v cb="$cb" -v cr="$cr" -v ca="$ca" -v fb="$fb" -v fr="$fr" -v fa="$fa" 'BEGIN {
		r = cb / fb
		printf "%-5s dataflow %7.2f MB / %7.2f MB = %.3f (%s 1.10)   arrangements %.3f   rows arranged %d / %d\n",
			n, cb / 1048576, fb / 1048576, r, r <= 1.10 ? "within" : "ABOVE", ca / fa, cr, fr }'
done

echo "worker memory now (churned and fresh views): $(psql_ -c "SELECT round(sum(memory_bytes) / 1048576.0, 2) FROM coordinator.workers") MB"

# each churned view must equal its query, EXCEPT ALL both ways
for pair in "agg_churned:$AGG" "join_churned:$JOIN"; do
	view=${pair%%:*} query=${pair#*:}
	diff=$(psql_ -c "SELECT (SELECT count(*) FROM (TABLE $view EXCEPT ALL $query) a) + (SELECT count(*) FROM ($query EXCEPT ALL TABLE $view) b)")
	echo "$view differs from its query in $diff rows"
done
