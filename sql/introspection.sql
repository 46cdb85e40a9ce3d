-- Introspection: schema and name columns, one spelling of kinds,
-- explain_dataflow, the progress and waits views when nothing is going
-- on, subscribe called in FROM, and errors inside query text.
CREATE SCHEMA intro;
CREATE TABLE intro.orders (id int, customer text, amount numeric);
CREATE TABLE intro.customers (name text, region text);
INSERT INTO intro.orders SELECT g, 'c' || (g % 3), g * 10 FROM generate_series(1, 9) g;
INSERT INTO intro.customers VALUES ('c0', 'north'), ('c1', 'south'), ('c2', 'north');
SET client_min_messages = warning;
CREATE MATERIALIZED VIEW intro.by_region WITH (incremental) AS
  SELECT c.region, count(*) AS n, sum(o.amount) AS total
    FROM intro.orders o JOIN intro.customers c ON c.name = o.customer
   WHERE o.amount > 20 GROUP BY c.region;
RESET client_min_messages;
SELECT * FROM intro.by_region ORDER BY 1;

-- the schema and name, without a cast, whatever the search_path
SELECT kind, schemaname, relname, name = relid::regclass AS same FROM coordinator.objects
 WHERE relname = 'by_region';
SELECT object::text, kind, schemaname, relname FROM coordinator.frontiers
 WHERE schemaname = 'intro' ORDER BY kind, relname;
SELECT schemaname, relname, lag_bytes >= 0 AS known FROM coordinator.materialization_lag
 WHERE relname = 'by_region';
SELECT relname, operator_id, arrangement, records FROM coordinator.arrangements
 WHERE relname = 'by_region' ORDER BY operator_id, arrangement;
SELECT schemaname, relname, arranged_rows FROM coordinator.dataflows WHERE relname = 'by_region';
-- one spelling of a kind in every view: Postgres's
SELECT DISTINCT kind FROM coordinator.frontiers ORDER BY 1;
SELECT count(*) FROM coordinator.objects WHERE kind <> 'materialized view';

-- the dataflow, readably; the sizes are those of coordinator.arrangements
-- (bytes depend on the allocator: masked)
SELECT regexp_replace(l, 'bytes=\d+', 'bytes=N') AS explain_dataflow
  FROM coordinator.explain_dataflow('intro.by_region') l;
SELECT count(*) AS arrangement_lines,
       (SELECT count(*) FROM coordinator.arrangements WHERE relname = 'by_region') AS arrangements
  FROM coordinator.explain_dataflow('intro.by_region') l WHERE l LIKE '%Arrangement:%';
-- a view with a union, a distinct and a subquery
CREATE MATERIALIZED VIEW intro.regions WITH (incremental) AS
  SELECT DISTINCT region FROM intro.customers
  UNION ALL SELECT 'big' FROM intro.orders WHERE amount > (SELECT avg(amount) FROM intro.orders);
SELECT count(*) FROM intro.regions;
SELECT regexp_replace(l, 'bytes=\d+', 'bytes=N') AS explain_dataflow
  FROM coordinator.explain_dataflow('intro.regions') l;
-- errors: NULL gives no rows (STRICT); no such relation; not maintained;
-- no privilege
SELECT count(*) FROM coordinator.explain_dataflow(NULL);
SELECT * FROM coordinator.explain_dataflow(0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM coordinator.explain_dataflow('intro.orders');
\echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW intro.plain AS SELECT 1 AS x;
SELECT * FROM coordinator.explain_dataflow('intro.plain');
\echo :LAST_ERROR_SQLSTATE
CREATE ROLE intro_nobody;
GRANT USAGE ON SCHEMA intro TO intro_nobody;
SET ROLE intro_nobody;
SELECT * FROM coordinator.explain_dataflow('intro.by_region');
\echo :LAST_ERROR_SQLSTATE
-- the introspection views show it only the views it may read
SELECT count(*) FROM coordinator.objects WHERE schemaname = 'intro';
SELECT count(*) FROM coordinator.arrangements WHERE schemaname = 'intro';
RESET ROLE;

-- nothing hydrates and nobody waits now
SELECT count(*) FROM coordinator.progress_hydration WHERE schemaname = 'intro';
SELECT count(*) FROM coordinator.waits WHERE schemaname = 'intro';
SELECT pid, object, phase, rows_scanned, rows_arranged, started_at, elapsed, relid, schemaname, relname
  FROM coordinator.progress_hydration LIMIT 0;
SELECT pid, object, ts, upper, behind_bytes, since, waited, relid, schemaname, relname
  FROM coordinator.waits LIMIT 0;

-- subscribe and subscribe_fetch in FROM: how to call them
SELECT * FROM coordinator.subscribe('intro.by_region');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM coordinator.subscribe_fetch(1);
\echo :LAST_ERROR_SQLSTATE
SELECT x.* FROM coordinator.subscribe ( 'intro.by_region' ) AS x;
\echo :LAST_ERROR_SQLSTATE
-- another function's error stays Postgres's
CREATE FUNCTION intro.records() RETURNS SETOF record LANGUAGE sql AS 'SELECT 1';
SELECT * FROM intro.records();
\echo :LAST_ERROR_SQLSTATE

-- errors in query text point into the text
SELECT coordinator.explain_timestamp('SELECT * FROM nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.explain_timestamp('SELECT region FROM intro.by_region WHERE nosuch = 1');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.explain_timestamp_json('SELEC 1');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.explain_timestamp('DELETE FROM intro.orders');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.create_materialized_view('intro.v', 'garbage');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.create_materialized_view('intro.v', 'SELECT amount FROM intro.orders WHERE nosuch > 1');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.create_materialized_view('intro.v', 'SELECT random() AS r FROM intro.orders');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.create_materialized_view('intro.v', 'INSERT INTO intro.orders VALUES (1)');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.create_materialized_view('intro.v', 'SELECT 1; SELECT 2');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.create_materialized_view('intro.v', 'SELECT 1 AS x INTO intro.w');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.subscribe_open('SELECT * FROM intro.orders WHERE nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.subscribe_open('WITH x AS (SELECT 1) UPDATE intro.orders SET id = 1');
\echo :LAST_ERROR_SQLSTATE
SELECT coordinator.subscribe('SELECT nosuch FROM intro.orders');
\echo :LAST_ERROR_SQLSTATE

DROP SCHEMA intro CASCADE;
DROP ROLE intro_nobody;
