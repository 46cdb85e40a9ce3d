-- Timestamps, frontiers, EXPLAIN TIMESTAMP and introspection.
CREATE SCHEMA ts;
SET search_path = ts, public;
CREATE TABLE acct (id int, owner text, balance int);
INSERT INTO acct SELECT g, 'o' || g, g * 10 FROM generate_series(1, 10) g;
CREATE TABLE owners (owner text, region text);
INSERT INTO owners SELECT 'o' || g, CASE WHEN g % 2 = 0 THEN 'east' ELSE 'west' END
  FROM generate_series(1, 6) g;
CREATE MATERIALIZED VIEW rich WITH (incremental) AS
  SELECT id, owner, balance FROM acct WHERE balance >= 50;
CREATE MATERIALIZED VIEW by_region WITH (incremental) AS
  SELECT o.region, count(*) AS n, sum(a.balance) AS total
    FROM acct a JOIN owners o ON o.owner = a.owner GROUP BY o.region;
SELECT count(*) FROM rich;
SELECT * FROM by_region ORDER BY region;

-- numbers (timestamps, wall times, LSNs) masked in what is printed
CREATE FUNCTION mask(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT regexp_replace(regexp_replace(regexp_replace(t,
    '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+', '<time>', 'g'),
    '[0-9A-F]+/[0-9A-F]+', '<lsn>', 'g'),
    '[0-9]+', '<n>', 'g')
$$;

-- EXPLAIN TIMESTAMP in Materialize's layout; a quiet system can respond
-- at once (retried for up to 3 s: in the full suite, commits of
-- autovacuum and of the tests before this one keep the worker busy for a
-- while, and one of them may race the explain)
CREATE FUNCTION explain_idle(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  e text;
BEGIN
  FOR i IN 1..300 LOOP
    e := coordinator.explain_timestamp(q);
    EXIT WHEN e LIKE '%can respond immediately: true%';
    PERFORM pg_sleep(0.01);
  END LOOP;
  -- which constraint binds depends on stray WAL: keep only the header
  RETURN mask(split_part(e, E'\nbinding constraints:', 1));
END $$;
SELECT explain_idle('SELECT * FROM rich');
SELECT explain_idle('SELECT r.id FROM rich r JOIN by_region b ON true');
SELECT coordinator.explain_timestamp('SELECT * FROM rich') LIKE
       '%binding constraints:' || E'\n' || 'lower:' || E'\n' || '  (%' AS has_constraints;
-- a query without maintained views reads at the oracle's time
SELECT mask(coordinator.explain_timestamp('SELECT * FROM acct'));

-- the JSON form: since <= query timestamp < upper, oracle <= query timestamp
SELECT (d->>'chosen_ts')::bigint >= (d->>'oracle_ts')::bigint AS after_oracle,
       (j->'determination'->'since'->>0)::bigint <= (d->>'chosen_ts')::bigint AS after_since,
       j->'sources'->0->>'name' AS input,
       j->'sources'->0->>'state' AS state,
       d->>'timeline' AS timeline
  FROM (SELECT j, j->'determination'->'timestamp_context' AS d
          FROM coordinator.explain_timestamp_json('SELECT * FROM rich') j) x;

-- serializable: no oracle, the freshest time
SET coordinator.isolation = 'serializable';
SELECT mask(split_part(coordinator.explain_timestamp('SELECT * FROM rich'),
                       E'\nview', 1));
SELECT (j->'determination'->'timestamp_context'->>'oracle_ts') IS NULL AS no_oracle,
       (j->>'respond_immediately')::bool AS immediately
  FROM coordinator.explain_timestamp_json('SELECT * FROM rich') j;
RESET coordinator.isolation;

-- bad input
SELECT coordinator.explain_timestamp('SELECT 1; SELECT 2');
SELECT coordinator.explain_timestamp('INSERT INTO acct VALUES (1)');
SELECT coordinator.explain_timestamp('SELECT * FROM no_such_table');
-- explaining needs the read's privileges
CREATE ROLE ts_nobody;
SET ROLE ts_nobody;
SELECT coordinator.explain_timestamp('SELECT * FROM ts.rich');
RESET ROLE;
DROP ROLE ts_nobody;

-- successive strict reads never go back in time, and each reflects every
-- commit before it: the read timestamp is at least the oracle's
CREATE TEMP TABLE seen (n serial, ts bigint, oracle bigint);
INSERT INTO acct VALUES (11, 'o1', 110);
SELECT count(*) FROM rich;
INSERT INTO seen (ts, oracle) SELECT coordinator.last_read_timestamp(), coordinator.oracle_timestamp();
UPDATE acct SET balance = balance + 1 WHERE id = 11;
SELECT n, total FROM by_region WHERE region = 'west';
INSERT INTO seen (ts, oracle) SELECT coordinator.last_read_timestamp(), coordinator.oracle_timestamp();
DELETE FROM acct WHERE id = 11;
SELECT count(*) FROM rich;
INSERT INTO seen (ts, oracle) SELECT coordinator.last_read_timestamp(), coordinator.oracle_timestamp();
SELECT count(*) AS reads,
       bool_and(ts > prev) AS forward,
       bool_and(ts > prev_oracle) AS after_previous_writes
  FROM (SELECT ts, lag(ts) OVER (ORDER BY n) AS prev, lag(oracle) OVER (ORDER BY n) AS prev_oracle
          FROM seen) s WHERE prev IS NOT NULL;

-- the timestamp NOTICE (its DETAIL is the EXPLAIN TIMESTAMP of the read)
\set VERBOSITY terse
SET coordinator.emit_timestamp_notice = on;
SELECT count(*) FROM rich;
SET coordinator.timestamp_notice_min_wait = '1h';
SELECT count(*) FROM rich;
RESET coordinator.timestamp_notice_min_wait;
RESET coordinator.emit_timestamp_notice;
\set VERBOSITY default

-- introspection
SELECT name, kind, state, worker, last_error FROM coordinator.objects
 WHERE relid IN ('rich'::regclass, 'by_region'::regclass) ORDER BY name::text;
SELECT object, kind, since <= upper - 1 AS readable,
       upper_time BETWEEN now() - interval '1 minute' AND clock_timestamp() AS recent
  FROM coordinator.frontiers
 WHERE object IN ('rich'::regclass, 'by_region'::regclass, 'acct'::regclass, 'owners'::regclass)
 ORDER BY kind, object::text;
SELECT worker, pid IS NOT NULL AS running, state IN ('idle', 'decoding', 'applying') AS state_ok,
       dataflows >= 2 AS dataflows, memory_bytes > 0 AS memory
  FROM coordinator.workers;
SELECT object, operator_id IS NOT NULL AS has_operator, arrangement, records, bytes > 0 AS bytes
  FROM coordinator.arrangements WHERE object = 'by_region'::regclass
 ORDER BY arrangement, records;
SELECT object, arranged_rows, dataflow_bytes > 0 AS bytes
  FROM coordinator.dataflows WHERE object = 'by_region'::regclass;

-- a view held back: lag in bytes and time, EXPLAIN says it must wait,
-- serializable reads the old contents at once
SELECT coordinator.debug_pause_workers(true);
INSERT INTO acct VALUES (12, 'o2', 120);
SELECT object, lag_bytes > 0 AS behind, lag > interval '0' AS late
  FROM coordinator.materialization_lag WHERE object = 'rich'::regclass;
SELECT (j->>'respond_immediately')::bool AS immediately,
       (j->'determination'->'upper'->>0)::bigint <= (j->'determination'->'timestamp_context'->>'chosen_ts')::bigint AS must_wait
  FROM coordinator.explain_timestamp_json('SELECT * FROM rich') j;
SET coordinator.isolation = 'serializable';
SELECT count(*) FROM rich;
RESET coordinator.isolation;
SELECT coordinator.debug_pause_workers(true, 5);
SELECT coordinator.debug_pause_workers(NULL);
SELECT coordinator.debug_pause_workers(false);
SELECT count(*) FROM rich;
-- caught up (polled: a stray commit may move the oracle for a moment)
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM coordinator.materialization_lag
                       WHERE object = 'ts.rich'::regclass AND lag_bytes = 0 AND lag = '0');
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT object, lag_bytes, lag = '0' AS no_lag FROM coordinator.materialization_lag
 WHERE object = 'rich'::regclass;

-- REPEATABLE READ: one timestamp for the whole transaction; the first
-- read of a view may still move the transaction's snapshot forward
INSERT INTO acct VALUES (13, 'o3', 130);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM rich;
CREATE TEMP TABLE first_ts AS SELECT coordinator.last_read_timestamp() AS ts;
SELECT n FROM by_region WHERE region = 'west';
SELECT coordinator.last_read_timestamp() = ts AS same_timestamp FROM first_ts;
COMMIT;

DROP SCHEMA ts CASCADE;
