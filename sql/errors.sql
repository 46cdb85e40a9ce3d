-- An error while maintaining a view (a division by zero, an overflow) is
-- part of the view's contents, as in Materialize: reads report it, with
-- its own SQLSTATE and the view named, until the input that causes it is
-- gone; then the view is correct again.  Other views and the dataflow
-- keep going throughout.
CREATE SCHEMA er;
SET search_path = er, public;
CREATE TABLE src (a int);
INSERT INTO src VALUES (1), (2);
CREATE MATERIALIZED VIEW ratio WITH (incremental) AS SELECT 100 / a AS r FROM src;
CREATE MATERIALIZED VIEW copy WITH (incremental) AS SELECT a FROM src;
SELECT * FROM ratio ORDER BY r;

INSERT INTO src VALUES (0);
SELECT * FROM ratio ORDER BY r;
\echo :LAST_ERROR_SQLSTATE
SELECT name, state, last_error, last_error_sqlstate FROM coordinator.objects
 WHERE relid IN ('ratio'::regclass, 'copy'::regclass) ORDER BY name::text;

-- the other view over the same table is still maintained
INSERT INTO src VALUES (3);
SELECT * FROM copy ORDER BY a;

-- a view created over the bad row reports it too
CREATE MATERIALIZED VIEW ratio2 WITH (incremental) AS SELECT 10 / a AS r FROM src;
SELECT * FROM ratio2;

-- two bad rows: the error stays until both are gone
INSERT INTO src VALUES (0);
DELETE FROM src WHERE ctid = (SELECT min(ctid) FROM src WHERE a = 0);
SELECT * FROM ratio ORDER BY r;
DELETE FROM src WHERE a = 0;
SELECT * FROM ratio ORDER BY r;
SELECT * FROM ratio2 ORDER BY r;

-- errors inside an aggregate and a join condition behave the same way
CREATE TABLE big (g int, v int);
INSERT INTO big VALUES (1, 2147483647), (2, 5);
CREATE MATERIALIZED VIEW sums WITH (incremental) AS
  SELECT g, sum(v)::int AS s FROM big GROUP BY g;
SELECT * FROM sums ORDER BY g;
INSERT INTO big VALUES (1, 1);
SELECT * FROM sums ORDER BY g;
\echo :LAST_ERROR_SQLSTATE
UPDATE big SET v = 0 WHERE g = 1 AND v = 1;
SELECT * FROM sums ORDER BY g;

-- in the argument of an aggregate kept as a state, not rows (aggregate.c):
-- the row is left out of the state, and the error counted until it is gone
CREATE MATERIALIZED VIEW inverse WITH (incremental) AS
  SELECT count(*) AS n, sum(100 / a) AS s FROM src;
SELECT * FROM inverse;
INSERT INTO src VALUES (0);
SELECT * FROM inverse;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM src WHERE a = 0;
SELECT * FROM inverse;

CREATE MATERIALIZED VIEW joined WITH (incremental) AS
  SELECT s.a, b.g FROM src s JOIN big b ON b.v / s.a > 1;
SELECT * FROM joined ORDER BY 1, 2;
INSERT INTO src VALUES (0);
SELECT * FROM joined ORDER BY 1, 2;
DELETE FROM src WHERE a = 0;
SELECT * FROM joined ORDER BY 1, 2;

-- a scalar subquery that returns two rows: cardinality_violation (21000),
-- reported until one of them is gone
CREATE MATERIALIZED VIEW named WITH (incremental) AS
  SELECT g, (SELECT v FROM big WHERE g = 2) AS two FROM big;
SELECT * FROM named ORDER BY g;
INSERT INTO big VALUES (2, 6);
SELECT * FROM named ORDER BY g;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM big WHERE g = 2 AND v = 5;
SELECT * FROM named ORDER BY g;

-- the same for a correlated one (a grouped join, see decorrelate.c): as in
-- Postgres, two rows for a key is the error of the outer rows that read that
-- key, and only of them; it comes and goes with the key's rows and with them
CREATE TABLE names (g int, name text);
INSERT INTO names VALUES (1, 'one'), (2, 'two');
CREATE MATERIALIZED VIEW labelled WITH (incremental) AS
  SELECT g, v, (SELECT name FROM names WHERE names.g = big.g) AS name FROM big;
CREATE MATERIALIZED VIEW labelled_where WITH (incremental) AS
  SELECT g, v FROM big WHERE (SELECT name FROM names WHERE names.g = big.g) <> 'one';
SELECT * FROM labelled ORDER BY g, v;
-- an inner row comes: a key that an outer row reads has two rows
INSERT INTO names VALUES (2, 'deux');
SELECT * FROM labelled ORDER BY g, v;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM labelled_where ORDER BY g, v;
-- an inner row goes: the error with it
DELETE FROM names WHERE name = 'two';
SELECT * FROM labelled ORDER BY g, v;
SELECT * FROM labelled_where ORDER BY g, v;
-- two rows for a key that no outer row reads: no error, as in Postgres
INSERT INTO names VALUES (7, 'seven'), (7, 'sept');
SELECT * FROM labelled ORDER BY g, v;
SELECT g, v, (SELECT name FROM names WHERE names.g = big.g) AS name FROM big ORDER BY g, v;
-- outer rows come and read the key: the error, as Postgres raises it
INSERT INTO big VALUES (7, 70), (7, 71);
SELECT * FROM labelled ORDER BY g, v;
\echo :LAST_ERROR_SQLSTATE
SELECT g, v, (SELECT name FROM names WHERE names.g = big.g) AS name FROM big ORDER BY g, v;
SELECT * FROM labelled_where ORDER BY g, v;
-- one of them goes: the other still reads the key
DELETE FROM big WHERE g = 7 AND v = 70;
SELECT * FROM labelled ORDER BY g, v;
-- the other goes: no outer row reads the key any more
DELETE FROM big WHERE g = 7;
SELECT * FROM labelled ORDER BY g, v;
SELECT * FROM labelled_where ORDER BY g, v;
-- an outer row again, then the key's second row goes
INSERT INTO big VALUES (7, 72);
SELECT * FROM labelled ORDER BY g, v;
DELETE FROM names WHERE name = 'sept';
SELECT * FROM labelled ORDER BY g, v;
SELECT * FROM labelled_where ORDER BY g, v;
SELECT (SELECT count(*) FROM (TABLE labelled EXCEPT ALL
          SELECT g, v, (SELECT name FROM names WHERE names.g = big.g) FROM big) d) AS extra,
       (SELECT count(*) FROM (SELECT g, v, (SELECT name FROM names WHERE names.g = big.g) FROM big
          EXCEPT ALL TABLE labelled) d) AS missing;

DROP SCHEMA er CASCADE;
