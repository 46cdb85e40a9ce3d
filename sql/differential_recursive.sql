-- Differential test of WITH RECURSIVE: seeded random DML on a small graph
-- with cycles (edges gained, lost, moved and reweighted; nodes blocked and
-- unblocked), committed or rolled back; after every round each view must
-- equal Postgres's own answer to its query.  UNION (sets: transitive
-- closure through cycles, reachability avoiding blocked nodes) and UNION
-- ALL (walks and paths bounded by depth), recursion under aggregates, outer
-- joins and a self-join of the recursive query, and equal values of
-- different images (numeric scales) under UNION.
--
--   COORDINATOR_DIFF_ROUNDS (default 25), COORDINATOR_DIFF_SEED (0.42).
\set rounds 25
\set seed 0.42
\getenv rounds COORDINATOR_DIFF_ROUNDS
\getenv seed COORDINATOR_DIFF_SEED
CREATE SCHEMA dfr;
SET search_path = dfr, public;
SET client_min_messages = warning;
SELECT setseed(:seed) \gset

CREATE TABLE edges (src int, dst int, w numeric);
CREATE TABLE nodes (id int, kind text);

CREATE FUNCTION rnd(lo int, hi int, nulls float8 DEFAULT 0.05) RETURNS int
  LANGUAGE sql AS $$ SELECT CASE WHEN random() < nulls THEN NULL
                            ELSE lo + floor(random() * (hi - lo + 1))::int END $$;
-- weights of several display scales: 1, 1.0 and 1.00 are one value
CREATE FUNCTION rnd_w() RETURNS numeric
  LANGUAGE sql AS $$ SELECT round((1 + floor(random() * 3))::numeric, floor(random() * 3)::int) $$;
INSERT INTO nodes SELECT id, CASE WHEN id % 5 = 0 THEN 'root' WHEN id = 7 THEN 'blocked' ELSE 'plain' END
  FROM generate_series(0, 11) id;
INSERT INTO edges SELECT rnd(0, 11), rnd(0, 11), rnd_w() FROM generate_series(1, 18);
INSERT INTO edges VALUES (1, 2, 1), (2, 3, 1), (3, 1, 1);   -- a cycle

\i sql/include/views_catalogue.sql
INSERT INTO views VALUES
-- UNION: transitive closure through cycles; reachability from the roots
('r01', $$WITH RECURSIVE c(s, d) AS (SELECT src, dst FROM edges UNION SELECT c.s, e.dst FROM c JOIN edges e ON e.src = c.d) SELECT s, d FROM c$$),
('r02', $$WITH RECURSIVE r(n) AS (SELECT id FROM nodes WHERE kind = 'root' UNION SELECT e.dst FROM r JOIN edges e ON e.src = r.n) SELECT n FROM r$$),
-- UNION through a join of two tables, and an anti-join: blocked nodes stop it
('r03', $$WITH RECURSIVE r(n) AS (SELECT id FROM nodes WHERE kind = 'root' UNION SELECT e.dst FROM r JOIN edges e ON e.src = r.n JOIN nodes x ON x.id = e.dst WHERE x.kind <> 'blocked') SELECT n FROM r$$),
('r04', $$WITH RECURSIVE r(n) AS (SELECT 0 UNION SELECT e.dst FROM r JOIN edges e ON e.src = r.n WHERE NOT EXISTS (SELECT 1 FROM nodes b WHERE b.id = e.dst AND b.kind = 'blocked')) SELECT n FROM r$$),
-- UNION ALL bounded by depth: walks through cycles, under aggregates
('r05', $$WITH RECURSIVE p(n, depth) AS (SELECT id, 0 FROM nodes WHERE kind = 'root' UNION ALL SELECT e.dst, p.depth + 1 FROM p JOIN edges e ON e.src = p.n WHERE p.depth < 4) SELECT n, depth FROM p$$),
('r06', $$WITH RECURSIVE p(s, n, depth) AS (SELECT src, dst, 1 FROM edges UNION ALL SELECT p.s, e.dst, p.depth + 1 FROM p JOIN edges e ON e.src = p.n WHERE p.depth < 3) SELECT s, n, min(depth) AS shortest, count(*) AS walks FROM p GROUP BY s, n$$),
-- UNION over costs of different scales
('r07', $$WITH RECURSIVE c(n, cost, depth) AS (SELECT src, w, 1 FROM edges UNION SELECT e.dst, c.cost + e.w, c.depth + 1 FROM c JOIN edges e ON e.src = c.n WHERE c.depth < 3) SELECT n, cost FROM c$$),
-- an outer join inside UNION ALL's recursive term, bounded
('r08', $$WITH RECURSIVE p(n, next, depth) AS (SELECT id, NULL::int, 0 FROM nodes WHERE kind = 'root' UNION ALL SELECT e.dst, e2.dst, p.depth + 1 FROM p JOIN edges e ON e.src = p.n LEFT JOIN edges e2 ON e2.src = e.dst AND e2.w > 2 WHERE p.depth < 2) SELECT n, next, depth FROM p$$),
-- the recursion read twice, and under an outer join and count
('r09', $$WITH RECURSIVE c(s, d) AS (SELECT src, dst FROM edges UNION SELECT c.s, e.dst FROM c JOIN edges e ON e.src = c.d) SELECT a.s, b.d FROM c a JOIN c b ON a.d = b.s WHERE a.s = b.d$$),
('r10', $$WITH RECURSIVE c(s, d) AS (SELECT src, dst FROM edges UNION SELECT c.s, e.dst FROM c JOIN edges e ON e.src = c.d) SELECT n.id, count(c.d) AS reachable FROM nodes n LEFT JOIN c ON c.s = n.id GROUP BY n.id$$),
-- counting up under UNION; a set-returning function in UNION ALL's term
('r11', $$WITH RECURSIVE x(n) AS (SELECT id FROM nodes WHERE kind = 'root' UNION SELECT n + 1 FROM x WHERE n < 14) SELECT n FROM x$$),
('r12', $$WITH RECURSIVE x(n) AS (SELECT 1 UNION ALL SELECT unnest(ARRAY[2 * n, 2 * n + 1]) FROM x WHERE n < 8) SELECT n FROM x$$),
-- a base that is an aggregate
('r13', $$WITH RECURSIVE r(n) AS (SELECT src FROM edges GROUP BY src HAVING count(*) > 2 UNION SELECT e.dst FROM r JOIN edges e ON e.src = r.n) SELECT n FROM r$$);

CALL create_views();
SELECT count(*) >= 13 AS catalogue_of_13 FROM views;

INSERT INTO failures SELECT 0, * FROM mismatches();

CREATE PROCEDURE random_statement() LANGUAGE plpgsql AS $$
DECLARE c int := floor(random() * 10)::int;
BEGIN
  CASE c
    WHEN 0, 1 THEN INSERT INTO edges SELECT rnd(0, 11), rnd(0, 11), rnd_w()
                     FROM generate_series(1, 1 + floor(random() * 2)::int);
    WHEN 2, 3 THEN DELETE FROM edges WHERE src = rnd(0, 11, 0) AND dst = (SELECT dst FROM edges WHERE src IS NOT NULL ORDER BY random() LIMIT 1);
    WHEN 4 THEN DELETE FROM edges WHERE src = rnd(0, 11, 0);
    WHEN 5 THEN UPDATE edges SET dst = rnd(0, 11) WHERE src = rnd(0, 11, 0);   -- an edge moves
    WHEN 6 THEN UPDATE edges SET w = rnd_w() WHERE dst = rnd(0, 11, 0);
    WHEN 7 THEN UPDATE nodes SET kind = (ARRAY['root', 'plain', 'blocked'])[1 + floor(random() * 3)::int]
                  WHERE id = rnd(0, 11, 0);
    WHEN 8 THEN INSERT INTO edges SELECT dst, src, w FROM edges WHERE src = rnd(0, 11, 0);  -- back edges: cycles
    ELSE INSERT INTO edges SELECT * FROM edges WHERE src = rnd(0, 11, 0);   -- duplicates
  END CASE;
END $$;

CALL run_rounds(:rounds, 1);
SELECT * FROM failures ORDER BY round, name;
RESET client_min_messages;
DROP SCHEMA dfr CASCADE;
