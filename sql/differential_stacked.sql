-- Differential test of views over maintained views: three levels of views
-- that read the views below them as inputs (their changes, computed
-- first in the same tick), aggregates over aggregates, joins of two views
-- and of a view with a table, a view joined with itself, top-k, outer and
-- semi-joins, UNION and a window over a view; seeded random DML,
-- committed or rolled back.  After every round each view must equal
-- Postgres's own answer to its query, where the views it names are plain
-- views of the same queries (schema oracle): the answer from the tables.
--
--   COORDINATOR_DIFF_ROUNDS (default 25), COORDINATOR_DIFF_SEED (0.42).
\set rounds 25
\set seed 0.42
\getenv rounds COORDINATOR_DIFF_ROUNDS
\getenv seed COORDINATOR_DIFF_SEED
CREATE SCHEMA dst;
CREATE SCHEMA oracle;
SET search_path = dst, public;
SET client_min_messages = warning;
SELECT setseed(:seed) \gset

CREATE TABLE orders (id int, cust int, amt numeric, status text);
CREATE TABLE custs (id int, region text, tier int);
CREATE FUNCTION rnd(lo int, hi int, nulls float8 DEFAULT 0.1) RETURNS int
  LANGUAGE sql AS $$ SELECT CASE WHEN random() < nulls THEN NULL
                            ELSE lo + floor(random() * (hi - lo + 1))::int END $$;
CREATE FUNCTION rnd_status() RETURNS text LANGUAGE sql AS $$
  SELECT (ARRAY['open', 'paid', 'void', NULL])[1 + floor(random() * 4)::int] $$;
INSERT INTO custs SELECT i, (ARRAY['eu', 'us', 'ap'])[1 + i % 3], rnd(1, 3) FROM generate_series(1, 12) i;
INSERT INTO orders SELECT i, rnd(1, 14), rnd(1, 50) * 1.25, rnd_status() FROM generate_series(1, 60) i;

\i sql/include/views_catalogue.sql
-- created in name order: a* read tables, b* read a*, c* read b*
INSERT INTO views VALUES
('a1', $$SELECT cust, count(*) AS n, sum(amt) AS total FROM orders GROUP BY cust$$),
('a2', $$SELECT o.id, o.cust, o.amt, c.region FROM orders o JOIN custs c ON c.id = o.cust$$),
('a3', $$SELECT DISTINCT cust, status FROM orders$$),
('a4', $$SELECT id, cust, amt FROM orders WHERE status = 'open'$$),
('b1', $$SELECT c.region, sum(a1.total) AS total, sum(a1.n) AS n FROM a1 JOIN custs c ON c.id = a1.cust GROUP BY c.region$$),
('b2', $$SELECT region, count(*) AS n, max(amt) AS top, min(id) AS first FROM a2 GROUP BY region$$),
('b3', $$SELECT cust, count(*) AS statuses, count(status) AS known FROM a3 GROUP BY cust$$),
('b4', $$SELECT a4.id, a4.amt, a1.n FROM a4 JOIN a1 USING (cust)$$),
('b5', $$SELECT cust, total FROM a1 ORDER BY total DESC NULLS LAST, cust NULLS LAST LIMIT 3$$),
('b6', $$SELECT c.id, a1.n, a1.total FROM custs c LEFT JOIN a1 ON a1.cust = c.id$$),
('b7', $$SELECT x.cust, x.n FROM a1 x WHERE EXISTS (SELECT 1 FROM a4 WHERE a4.cust = x.cust)$$),
('b8', $$SELECT p.cust, q.cust AS other FROM a1 p JOIN a1 q ON p.n = q.n AND p.cust < q.cust$$),
('b9', $$SELECT cust FROM a3 UNION SELECT cust FROM a4$$),
('ba', $$SELECT cust, amt, row_number() OVER (PARTITION BY cust ORDER BY amt DESC, id) AS rank FROM a4$$),
('bb', $$SELECT a2.region, count(DISTINCT a4.cust) AS custs FROM a2 JOIN a4 ON a4.id = a2.id GROUP BY a2.region$$),
('bc', $$SELECT cust, n FROM a1 WHERE cust NOT IN (SELECT cust FROM a4 WHERE cust IS NOT NULL)$$),
('c1', $$SELECT sum(total) AS total, sum(n) AS n FROM b1$$),
('c2', $$SELECT count(*) AS n, sum(amt) AS amt FROM b4 WHERE n > 1$$),
('c3', $$SELECT b2.region, b2.n, b1.total FROM b2 FULL JOIN b1 USING (region)$$),
('c4', $$SELECT rank, count(*) AS n FROM ba GROUP BY rank$$);

CALL create_views();
-- the plain views Postgres answers from, one per maintained view
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM views ORDER BY name LOOP
    EXECUTE format('SET LOCAL search_path = oracle, dst; CREATE VIEW oracle.%I AS %s', r.name, r.query);
  END LOOP;
END $$;
SET search_path = oracle, dst, public;

-- every b* and c* reads the views it names as inputs
SELECT v.name
  FROM views v
 WHERE v.name >= 'b'
   AND NOT EXISTS (SELECT 1 FROM coordinator.explain_dataflow(('dst.' || quote_ident(v.name))::regclass) e(line)
                    WHERE e.line LIKE '%(a maintained view: its changes, from its dataflow)%');

INSERT INTO failures SELECT 0, * FROM mismatches();

CREATE PROCEDURE random_statement() LANGUAGE plpgsql AS $$
DECLARE c int := floor(random() * 10)::int;
BEGIN
  CASE c
    WHEN 0, 1 THEN INSERT INTO orders SELECT rnd(1, 80, 0), rnd(1, 14), rnd(1, 50) * 1.25, rnd_status()
                     FROM generate_series(1, 1 + floor(random() * 3)::int);
    WHEN 2 THEN UPDATE orders SET amt = rnd(1, 50) * 1.25 WHERE id = rnd(1, 80, 0);
    WHEN 3 THEN UPDATE orders SET status = rnd_status() WHERE cust = rnd(1, 14, 0);
    WHEN 4 THEN UPDATE orders SET cust = rnd(1, 14) WHERE id = rnd(1, 80, 0);
    WHEN 5 THEN DELETE FROM orders WHERE id = rnd(1, 80, 0);
    WHEN 6 THEN DELETE FROM orders WHERE cust = rnd(1, 14, 0);
    WHEN 7 THEN UPDATE custs SET region = (ARRAY['eu', 'us', 'ap', NULL])[1 + floor(random() * 4)::int]
                  WHERE id = rnd(1, 14, 0);
    WHEN 8 THEN INSERT INTO custs SELECT rnd(1, 14, 0), (ARRAY['eu', 'us'])[1 + floor(random() * 2)::int], rnd(1, 3);
    ELSE INSERT INTO orders SELECT * FROM orders WHERE id = rnd(1, 80, 0);   -- duplicates
  END CASE;
END $$;

CALL run_rounds(:rounds, 1);
SELECT * FROM failures ORDER BY round, name;
RESET client_min_messages;
RESET search_path;
DROP SCHEMA oracle CASCADE;
DROP SCHEMA dst CASCADE;
