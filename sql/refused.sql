-- What cannot be maintained is refused at CREATE, with
-- ERRCODE_FEATURE_NOT_SUPPORTED, the construct's name and its position.
CREATE SCHEMA rf;
SET search_path = rf, public;
\set VERBOSITY default

CREATE TABLE t (a int, b text, ts timestamptz);
CREATE TABLE u (a int);
CREATE SEQUENCE s;
CREATE VIEW pv AS SELECT a FROM t;
CREATE MATERIALIZED VIEW mv AS SELECT a FROM t;
CREATE TABLE parted (a int) PARTITION BY RANGE (a);
CREATE UNLOGGED TABLE parted_unlogged PARTITION OF parted FOR VALUES FROM (0) TO (10);
CREATE UNLOGGED TABLE unlogged (a int);
CREATE TABLE parent (a int);
CREATE TABLE child () INHERITS (parent);

-- functions that are not IMMUTABLE
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a, now() FROM t;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM t WHERE random() < 0.5;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a, ts::text FROM t;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a, current_date FROM t;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a, nextval('s') FROM t;

-- clauses
-- WITH RECURSIVE: what its recursive term cannot iterate (the rows of the
-- last round through DISTINCT, LIMIT, a subquery in an expression; an outer
-- join under UNION), and now() there
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  WITH RECURSIVE x(n) AS (SELECT 1 UNION SELECT DISTINCT n + 1 FROM x WHERE n < 3) SELECT n FROM x;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  WITH RECURSIVE x(n) AS (SELECT 1 UNION ALL (SELECT n + 1 FROM x WHERE n < 3 LIMIT 1)) SELECT n FROM x;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  WITH RECURSIVE x(n) AS (SELECT 1 UNION SELECT n + 1 FROM x WHERE n < (SELECT max(a) FROM t)) SELECT n FROM x;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  WITH RECURSIVE x(n) AS (SELECT 1 UNION SELECT t.a FROM x LEFT JOIN t ON t.a = x.n + 1) SELECT n FROM x;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  WITH RECURSIVE x(n, ts) AS (SELECT a, ts FROM t UNION ALL SELECT n + 1, ts FROM x WHERE n < 3 AND ts > now()) SELECT n FROM x;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM t FOR UPDATE;
CREATE MATERIALIZED VIEW r WITH (incremental) AS WITH d AS (DELETE FROM t RETURNING a) SELECT a FROM d;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a, count(*) FROM t GROUP BY ROLLUP (a) LIMIT 1;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a, count(*), rank() OVER (ORDER BY a) FROM t GROUP BY GROUPING SETS ((a), ());

-- correlated subqueries that neither the planner nor decorrelate.c turn
-- into joins: not correlated by an equality, with LIMIT, with GROUP BY
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT a, (SELECT u.a FROM u WHERE u.a = t.a ORDER BY u.a LIMIT 1) FROM t;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT a, (SELECT count(*) FROM u WHERE u.a = t.a GROUP BY u.a) FROM t;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT a, (SELECT max(u.a) FROM u WHERE u.a = t.a OR u.a IS NULL) FROM t;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT a FROM t WHERE a = 1 OR EXISTS (SELECT 1 FROM u WHERE u.a > t.a);
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT a FROM t WHERE a > (SELECT avg(u.a) FROM u WHERE u.a < t.a);
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT t.a, l.a FROM t, LATERAL (SELECT u.a FROM u WHERE u.a > t.a ORDER BY u.a LIMIT 1) l;

-- FROM items
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT * FROM generate_series(1, (SELECT max(a) FROM t));
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT t.a, v.x FROM t, (VALUES ((SELECT min(a) FROM u)), (2)) v(x);
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM t TABLESAMPLE SYSTEM (10);

-- relations logical decoding cannot follow
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM mv;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT pv.a FROM pv JOIN mv ON pv.a = mv.a;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM parted;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM unlogged;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM parent;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM ONLY parent;
DROP MATERIALIZED VIEW r;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT oid FROM pg_class;
CREATE TEMP TABLE tmp (a int);
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM tmp;

-- system columns, wherever they are read: a decoded change has none of
-- its own (tableoid too: the view names its tables)
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a, xmin FROM t;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM t WHERE ctid > '(0,0)';
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT t.a FROM t JOIN u ON t.xmax = u.xmax;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a AND u.cmin::text = '0');
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT a, (SELECT max(cmax::text) FROM u) FROM t;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT count(*) FROM (SELECT a, tableoid FROM t) x;
CREATE VIEW sys AS SELECT a, xmin AS x FROM t;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM sys;
DO $$
BEGIN
  EXECUTE 'CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a, tableoid FROM t';
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'feature_not_supported: %', SQLERRM;
END $$;

-- WITH NO DATA: a maintained view is always populated
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a FROM t WITH NO DATA;
\echo :LAST_ERROR_SQLSTATE

-- the SQLSTATE is feature_not_supported
DO $$
BEGIN
  EXECUTE 'CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT a, (SELECT max(u.a) FROM u WHERE u.a < t.a) FROM t';
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'feature_not_supported: %', SQLERRM;
END $$;
DO $$
BEGIN
  EXECUTE 'CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT random() FROM t';
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'feature_not_supported: %', SQLERRM;
END $$;

-- a bad option value
CREATE MATERIALIZED VIEW r WITH (incremental = maybe) AS SELECT a FROM t;

-- nothing was left behind by the refusals
SELECT count(*) FROM pg_class WHERE relname = 'r';
SELECT count(*) FROM coordinator.objects o JOIN pg_class c ON c.oid = o.relid
 WHERE c.relnamespace = 'rf'::regnamespace;

DROP SCHEMA rf CASCADE;
