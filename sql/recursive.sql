-- WITH RECURSIVE: a deep recursion hydrated and cut in the middle, a change
-- undone in its own transaction, a recursion that does not end (a data error
-- until a change ends it), its dataflow, and a subscription to a recursive
-- query.
CREATE SCHEMA rec;
SET search_path = rec, public;

-- a chain of 600 edges: 600 rounds to hydrate, 180,300 pairs
CREATE TABLE chain (a int, b int);
INSERT INTO chain SELECT g, g + 1 FROM generate_series(1, 600) g;
ANALYZE chain;
CREATE VIEW closure_q AS
  WITH RECURSIVE c(a, b) AS (SELECT a, b FROM chain UNION SELECT c.a, e.b FROM c JOIN chain e ON e.a = c.b)
  SELECT a, b FROM c;
CREATE MATERIALIZED VIEW closure WITH (incremental) AS SELECT * FROM closure_q;
CREATE MATERIALIZED VIEW depth WITH (incremental) AS
  WITH RECURSIVE d(n, depth) AS (SELECT 1, 0 UNION ALL SELECT e.b, d.depth + 1 FROM d JOIN chain e ON e.a = d.n)
  SELECT max(depth) AS deepest, count(*) AS reached FROM d;
SELECT count(*) FROM closure;
SELECT * FROM depth;
-- cut it in two, and join it back
DELETE FROM chain WHERE a = 300;
SELECT count(*), count(*) = 299 * 300 / 2 + 301 * 300 / 2 AS two_chains FROM closure;
SELECT * FROM depth;
INSERT INTO chain VALUES (300, 301);
SELECT count(*) FROM closure;
(SELECT * FROM closure EXCEPT ALL SELECT * FROM closure_q) UNION ALL (SELECT * FROM closure_q EXCEPT ALL SELECT * FROM closure);
-- an edge inserted and deleted in one transaction, a cycle added in another
BEGIN;
INSERT INTO chain VALUES (5, 1);
DELETE FROM chain WHERE a = 5 AND b = 1;
COMMIT;
SELECT count(*) FROM closure;
INSERT INTO chain VALUES (601, 1);
SELECT count(*), count(*) = 601 * 601 AS everything_reaches_everything FROM closure;
DELETE FROM chain WHERE a = 601 AND b = 1;
SELECT count(*) FROM closure;
SELECT * FROM depth;

-- a walk around a cycle under UNION ALL never ends: a data error, reported
-- on read, until the cycle is broken
CREATE TABLE g (a int, b int);
INSERT INTO g VALUES (1, 2), (2, 3);
CREATE MATERIALIZED VIEW walks WITH (incremental) AS
  WITH RECURSIVE w(n) AS (SELECT 1 UNION ALL SELECT g.b FROM w JOIN g ON g.a = w.n)
  SELECT n, count(*) AS times FROM w GROUP BY n;
SELECT * FROM walks ORDER BY n;
INSERT INTO g VALUES (3, 1);
SELECT * FROM walks ORDER BY n;
DELETE FROM g WHERE a = 3;
SELECT * FROM walks ORDER BY n;
-- a value that grows without bound under UNION
CREATE TABLE seeds (n int);
CREATE MATERIALIZED VIEW counting WITH (incremental) AS
  WITH RECURSIVE c(n) AS (SELECT n FROM seeds UNION SELECT n + 1 FROM c WHERE n < 100 OR n > 1000)
  SELECT count(*) AS n FROM c;
INSERT INTO seeds VALUES (1);
SELECT * FROM counting;
INSERT INTO seeds VALUES (1001);
SELECT * FROM counting;
DELETE FROM seeds WHERE n = 1001;
SELECT * FROM counting;

-- the dataflow: the recursion, its terms and the rows of the last round
SELECT regexp_replace(line, 'bytes=\d+', 'bytes=...') AS explain_dataflow
  FROM coordinator.explain_dataflow('rec.closure') AS line;

-- a subscription to a recursive query: its snapshot, then a change
CREATE TABLE tree (id int, parent int);
ALTER TABLE tree REPLICA IDENTITY FULL;
INSERT INTO tree VALUES (1, NULL), (2, 1), (3, 2);
SELECT coordinator.subscribe_open($$WITH RECURSIVE t(id, depth) AS (SELECT id, 0 FROM rec.tree WHERE parent IS NULL UNION ALL SELECT tree.id, t.depth + 1 FROM t JOIN rec.tree ON tree.parent = t.id) SELECT id, depth FROM t$$) AS s \gset
CREATE TEMP TABLE got AS SELECT coordinator.subscribe_fetch(:s, 3, '10s');
SELECT mz_diff, id, depth FROM got ORDER BY id;
INSERT INTO tree VALUES (4, 3), (5, 1);
-- one transaction: its two rows at one timestamp
CREATE TEMP TABLE more AS SELECT coordinator.subscribe_fetch(:s, 2, '10s');
SELECT mz_diff, id, depth FROM more ORDER BY id;
SELECT count(DISTINCT mz_timestamp) AS timestamps FROM more;
SELECT coordinator.subscribe_close(:s);

DROP SCHEMA rec CASCADE;
