-- Inserts, updates and deletes on the source reach the view, in every shape.
CREATE SCHEMA dml;
SET search_path = dml, public;

CREATE TABLE t (k int, v text, n int);
CREATE MATERIALIZED VIEW big WITH (incremental) AS
  SELECT k, v, n FROM t WHERE n >= 10;

-- the view equals its query: both directions of EXCEPT ALL are empty
CREATE FUNCTION check_big() RETURNS TABLE (extra bigint, missing bigint)
LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM (SELECT * FROM big EXCEPT ALL SELECT k, v, n FROM t WHERE n >= 10) a),
         (SELECT count(*) FROM (SELECT k, v, n FROM t WHERE n >= 10 EXCEPT ALL SELECT * FROM big) b)
$$;

INSERT INTO t SELECT g, 'r' || g, g FROM generate_series(1, 20) g;
SELECT count(*), sum(n) FROM big;

-- rows move into and out of the filter
UPDATE t SET n = n + 5 WHERE k BETWEEN 5 AND 9;
SELECT count(*), sum(n) FROM big;
UPDATE t SET n = 0 WHERE k > 18;
SELECT k FROM big ORDER BY k;

-- updates to NULL and back
UPDATE t SET v = NULL WHERE k = 12;
SELECT * FROM big WHERE k = 12;
UPDATE t SET n = NULL WHERE k = 13;
SELECT count(*) FROM big WHERE k = 13;

-- duplicates: a multiset, one copy deleted at a time
INSERT INTO t VALUES (100, 'dup', 50), (100, 'dup', 50), (100, 'dup', 50);
SELECT count(*) FROM big WHERE k = 100;
DELETE FROM t WHERE ctid = (SELECT ctid FROM t WHERE k = 100 LIMIT 1);
SELECT count(*) FROM big WHERE k = 100;

-- a multi-statement transaction is applied whole
BEGIN;
INSERT INTO t VALUES (200, 'a', 20);
UPDATE t SET n = 21 WHERE k = 200;
UPDATE t SET n = 22 WHERE k = 200;
DELETE FROM t WHERE k = 11;
COMMIT;
SELECT * FROM big WHERE k IN (11, 200) ORDER BY k;

-- rolled-back work never reaches the view
BEGIN;
INSERT INTO t VALUES (300, 'never', 99);
DELETE FROM t WHERE k = 14;
ROLLBACK;
SELECT count(*) FROM big WHERE k IN (300, 14);

-- a rolled-back savepoint too
BEGIN;
INSERT INTO t VALUES (400, 'kept', 40);
SAVEPOINT s;
INSERT INTO t VALUES (401, 'undone', 40);
ROLLBACK TO s;
COMMIT;
SELECT k, v FROM big WHERE k >= 400 ORDER BY k;

-- an update that does not change the view's row costs nothing visible
UPDATE t SET n = n WHERE k = 15;
SELECT * FROM big WHERE k = 15;

-- a large statement
INSERT INTO t SELECT g, 'bulk', g % 30 FROM generate_series(1000, 30999) g;
UPDATE t SET n = n + 1 WHERE k BETWEEN 1000 AND 30999 AND k % 3 = 0;
DELETE FROM t WHERE k BETWEEN 1000 AND 30999 AND k % 7 = 0;
SELECT * FROM check_big();

-- a delete of everything
DELETE FROM t;
SELECT count(*) FROM big;
SELECT * FROM check_big();

DROP SCHEMA dml CASCADE;
