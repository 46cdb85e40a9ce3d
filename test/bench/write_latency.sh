#!/usr/bin/env bash
# Writer throughput with and without a maintained view, and the cost of a
# strict read right after a write (commit-to-visible), measured in one run
# with pgbench on a throwaway server.  Reports ratios, asserts nothing.
#
#   bash test/bench/write_latency.sh [seconds per run, default 10]
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

SECS=${1:-10}
start_bench_server 5498
psql_ <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION coordinator;
CREATE TABLE plain (id int, grp int, amount numeric);
CREATE TABLE viewed (id int, grp int, amount numeric);
ALTER TABLE plain REPLICA IDENTITY FULL;
ALTER TABLE viewed REPLICA IDENTITY FULL;
CREATE MATERIALIZED VIEW v WITH (incremental) AS
  SELECT id, grp, amount * 2 AS amount2 FROM viewed WHERE amount > 10;
SELECT count(*) FROM v;
SQL

for t in plain viewed; do
	cat >"$DIR/$t.sql" <<SQL
\set id random(1, 1000000)
INSERT INTO $t VALUES (:id, :id % 100, :id % 1000);
SQL
done
cat >"$DIR/read.sql" <<'SQL'
\set id random(1, 1000000)
INSERT INTO viewed VALUES (:id, :id % 100, :id % 1000);
SELECT count(*) FROM v WHERE id = :id;
SQL
chmod a+r "$DIR"/*.sql

bench() {
	as_pg "$PG_BIN/pgbench" -n -c "${2:-2}" -j "${2:-2}" -T "$SECS" -f "$DIR/$1.sql" \
		-h "$DIR" -p "$PORT" postgres 2>/dev/null
}
tps() { awk '/^tps/ { s += $3; n++ } END { printf "%.0f", s / n }'; }
lat() { awk '/^latency average/ { s += $4; n++ } END { printf "%.3f", s / n }'; }

# warm up (WAL segments, caches), then alternate so drift hits both alike
bench plain >/dev/null
plain=$(bench plain)
viewed=$(bench viewed)
plain+=$'\n'$(bench plain)
viewed+=$'\n'$(bench viewed)
read=$(bench read)
read1=$(bench read 1)
viewed1=$(bench viewed 1)
check=$(psql_ -c "SELECT (SELECT count(*) FROM (TABLE v EXCEPT ALL SELECT id, grp, amount * 2 FROM viewed WHERE amount > 10) a) + (SELECT count(*) FROM (SELECT id, grp, amount * 2 FROM viewed WHERE amount > 10 EXCEPT ALL TABLE v) b)")

tp=$(tps <<<"$plain"); tv=$(tps <<<"$viewed"); tr=$(tps <<<"$read")
lp=$(lat <<<"$plain"); lv=$(lat <<<"$viewed"); lr=$(lat <<<"$read")
lr1=$(lat <<<"$read1"); lv1=$(lat <<<"$viewed1")
echo "pgbench, ${SECS}s per run, single-row INSERT per transaction; 2 clients unless noted"
printf '%-44s %10s tps  %7s ms/txn\n' "table without view" "$tp" "$lp"
printf '%-44s %10s tps  %7s ms/txn\n' "table with a maintained view" "$tv" "$lv"
printf '%-44s %10s tps  %7s ms/txn\n' "INSERT, then strict read of the view" "$tr" "$lr"
awk -v a="$tv" -v b="$tp" 'BEGIN { printf "write throughput with view / without: %.2f\n", a / b }'
printf '%-44s %10s      %7s ms/txn\n' "1 client: INSERT only" "" "$lv1"
printf '%-44s %10s      %7s ms/txn\n' "1 client: INSERT, then strict read" "" "$lr1"
awk -v r="$lr1" -v w="$lv1" 'BEGIN { printf "strict read right after a write, 1 client (commit to visible, incl. the read): %.3f ms\n", r - w }'
echo "view differs from its query in $check rows after the run"
