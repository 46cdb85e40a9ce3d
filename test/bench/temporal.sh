#!/usr/bin/env bash
# Temporal filters: a sliding one-minute window over events arriving at
# RATE rows per second (pgbench, 100 rows per transaction), with the window
# full from the start (one minute of rows dated over the last minute).
#
#   CREATE MATERIALIZED VIEW last_minute WITH (incremental) AS
#     SELECT k, count(*) FROM events WHERE ts > now() - interval '1 minute' GROUP BY k
#
# Reports how late rows leave the view: probe rows (their own view of the
# same form) expire at known times, 0.25 s apart, while a reader polls the
# view every 5 ms without forcing it forward (serializable reads write no
# clock message, so what it sees is what the worker did on its own): delay =
# when the reader first missed the row - when it expired; p50 and p99.
# Also the dataflow worker's CPU per second of wall time (/proc/PID/stat),
# and the view against its query at the end (a strict read).
# One run on a throwaway server; asserts nothing.
#
#   bash test/bench/temporal.sh [RATE] [SECONDS]    default 10000 30
#
# COORDINATOR_BENCH_PORT sets the server's port (default 5499).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

RATE=${1:-10000}
SECS=${2:-30}
PROBES=$((SECS * 4 - 8))
START=$SECONDS
progress() { echo "[$((SECONDS - START)) s] $*" >&2; }

start_bench_server "${COORDINATOR_BENCH_PORT:-5499}"
bench_no_checkpoints
progress "loading one minute of events at $RATE rows/s"
psql_ <<SQL
SET client_min_messages = warning;
CREATE EXTENSION coordinator;
CREATE TABLE events (id bigserial PRIMARY KEY, ts timestamptz NOT NULL, k int);
ALTER TABLE events REPLICA IDENTITY FULL;
INSERT INTO events (ts, k)
  SELECT now() - interval '1 minute' + i * interval '1 minute' / ($RATE * 60), i % 100
  FROM generate_series(1, $RATE * 60) i;
CREATE TABLE probes (id int PRIMARY KEY, ts timestamptz NOT NULL);
ALTER TABLE probes REPLICA IDENTITY FULL;
VACUUM ANALYZE events;
CREATE MATERIALIZED VIEW last_minute WITH (incremental) AS
  SELECT k, count(*) FROM events WHERE ts > now() - interval '1 minute' GROUP BY k;
CREATE MATERIALIZED VIEW probe_window WITH (incremental) AS
  SELECT id FROM probes WHERE ts > now() - interval '1 minute';
SELECT count(*) FROM last_minute;
-- probes expire from 2 s on, every 0.25 s
INSERT INTO probes SELECT i, now() - interval '1 minute' + interval '2 seconds' + i * interval '250 milliseconds'
  FROM generate_series(1, $PROBES) i;
SELECT count(*) FROM probe_window;
SQL

cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)
pid=$(psql_ -c "SELECT pid FROM coordinator.workers WHERE pid IS NOT NULL LIMIT 1")
echo "INSERT INTO events (ts, k) SELECT now(), (random() * 99)::int FROM generate_series(1, 100);" >"$DIR/insert.sql"

progress "$SECS s of inserts at $RATE rows/s, polling the probes"
c0=$(cpu_of "$pid")
t0=$(date +%s.%N)
as_pg "$PG_BIN/pgbench" -n -c 1 -j 1 -R $((RATE / 100)) -T "$SECS" -f "$DIR/insert.sql" \
	-h "$DIR" -p "$PORT" postgres >"$DIR/pgbench.log" 2>&1 &
writer=$!
psql_ <<SQL
SET coordinator.isolation = 'serializable';
CREATE TEMP TABLE seen (id int, delay_ms float8);
DO \$\$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '$SECS seconds';
BEGIN
  WHILE clock_timestamp() < deadline AND (SELECT count(*) FROM seen) < $PROBES LOOP
    INSERT INTO seen
      SELECT p.id, extract(epoch FROM clock_timestamp() - (p.ts + interval '1 minute')) * 1000
      FROM probes p
      WHERE p.ts + interval '1 minute' <= clock_timestamp()
        AND NOT EXISTS (SELECT FROM probe_window w WHERE w.id = p.id)
        AND NOT EXISTS (SELECT FROM seen s WHERE s.id = p.id);
    PERFORM pg_sleep(0.005);
  END LOOP;
END \$\$;
\echo probes_seen|delay_p50_ms|delay_p99_ms|delay_max_ms
SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY delay_ms)::numeric, 1),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY delay_ms)::numeric, 1),
       round(max(delay_ms)::numeric, 1)
  FROM seen;
SQL
wait "$writer"
t1=$(date +%s.%N)
c1=$(cpu_of "$pid")
grep -E "^(number of transactions actually processed|tps)" "$DIR/pgbench.log"
awk -v c="$((c1 - c0))" -v t="$ticks" -v a="$t0" -v b="$t1" \
	'BEGIN { printf "worker CPU: %.3f s per second of wall time\n", (c / t) / (b - a) }'
# The view's time is its read's start, a little after the query's now():
# they may differ by the rows that expired in between, at the window's edge.
echo "view rows | query rows | rows within 50 ms of the edge (a strict read)"
psql_ <<'SQL'
SELECT (SELECT sum(count) FROM last_minute),
       (SELECT count(*) FROM events WHERE ts > now() - interval '1 minute'),
       (SELECT count(*) FROM events WHERE ts > now() - interval '1 minute' - interval '50 ms'
                                      AND ts <= now() - interval '1 minute' + interval '50 ms');
SQL
echo "($((SECONDS - START)) s in all)"
