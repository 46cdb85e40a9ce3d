-- coordinator.isolation: strict serializable waits for freshness, and the
-- wait ends with 57014 on statement_timeout; serializable reads at once.
CREATE SCHEMA ig;
SET search_path = ig, public;
CREATE TABLE src (a int);
INSERT INTO src VALUES (1);
CREATE MATERIALIZED VIEW v WITH (incremental) AS SELECT a FROM src;
SELECT * FROM v;

-- hold the dataflow back (a documented test switch)
SELECT coordinator.debug_pause_workers(true);
INSERT INTO src VALUES (2);

-- serializable reads what is applied, without waiting
SET coordinator.isolation = 'serializable';
SELECT * FROM v ORDER BY a;

-- strict serializable waits; statement_timeout interrupts the wait, and the
-- error's CONTEXT names the view and how far behind it was (numbers masked)
SET coordinator.isolation = 'strict serializable';
\set SHOW_CONTEXT never
SET statement_timeout = '300ms';
SELECT * FROM v ORDER BY a;
\echo :LAST_ERROR_SQLSTATE
DO $$
DECLARE
  ctx text;
BEGIN
  PERFORM * FROM ig.v;
EXCEPTION WHEN query_canceled THEN
  GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
  ctx := regexp_replace(ctx, '[0-9A-F]+/[0-9A-F]+', 'X/X', 'g');
  RAISE NOTICE '%', regexp_replace(split_part(ctx, E'\n', 1), '[0-9]+', 'N', 'g');
END $$;
RESET statement_timeout;

-- cancel interrupts it too (cancelled from another backend, by a bounded poll)
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('canceller', 'dbname=' || current_database());
SELECT dblink_send_query('canceller', $q$
  DO $$
  BEGIN
    FOR i IN 1..600 LOOP
      -- pg_stat_activity is snapshotted once per transaction: drop it each poll
      PERFORM pg_stat_clear_snapshot();
      EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity
                         WHERE query = 'SELECT count(*) FROM ig.v;' AND state = 'active'
                           AND wait_event = 'Extension');
      PERFORM pg_sleep(0.05);
    END LOOP;
    PERFORM pg_stat_clear_snapshot();
    PERFORM pg_cancel_backend(pid) FROM pg_stat_activity
      WHERE query = 'SELECT count(*) FROM ig.v;' AND state = 'active';
  END $$;
$q$);
SET statement_timeout = '60s';  -- backstop: a missed cancel fails, never hangs
SELECT count(*) FROM ig.v;
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;
SELECT * FROM dblink_get_result('canceller') AS r(status text);
SELECT dblink_disconnect('canceller');

-- released, the same read sees the insert
SELECT coordinator.debug_pause_workers(false);
SELECT * FROM v ORDER BY a;

-- serializable reads wait until a new view is populated, and see it
-- populated: right after CREATE, the snapshot the read took before its wait
-- saw the view empty.  Repeated, from psql and from a procedure.
SET coordinator.isolation = 'serializable';
CREATE TABLE four (a int);
INSERT INTO four SELECT generate_series(1, 4);
CREATE MATERIALIZED VIEW fresh1 WITH (incremental) AS SELECT a FROM four;
SELECT count(*) FROM fresh1;
CREATE MATERIALIZED VIEW fresh2 WITH (incremental) AS SELECT a FROM four;
SELECT count(*) FROM fresh2;
CREATE MATERIALIZED VIEW fresh3 WITH (incremental) AS SELECT a * 2 FROM four;
SELECT count(*) FROM fresh3;
CREATE PROCEDURE create_and_read(n int) LANGUAGE plpgsql AS $$
DECLARE
  c bigint;
BEGIN
  FOR i IN 4..n + 3 LOOP
    EXECUTE format('CREATE MATERIALIZED VIEW fresh%s WITH (incremental) AS SELECT a FROM four', i);
    COMMIT;
    EXECUTE format('SELECT count(*) FROM fresh%s', i) INTO c;
    RAISE NOTICE 'fresh%: % rows', i, c;
  END LOOP;
END $$;
CALL create_and_read(5);
RESET coordinator.isolation;

DROP EXTENSION dblink;
DROP SCHEMA ig CASCADE;
