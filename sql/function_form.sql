-- coordinator.create_materialized_view(name, query), for clients that
-- cannot pass reloptions.
CREATE SCHEMA ff;
CREATE SCHEMA "Odd Schema";
SET search_path = ff, public;
CREATE TABLE src (a int, b text);
CREATE TABLE canary (x int);
INSERT INTO src VALUES (1, 'one'), (2, 'two');

SELECT coordinator.create_materialized_view('fv', 'SELECT a, b FROM src WHERE a > 1');
SELECT * FROM fv;
INSERT INTO src VALUES (3, 'three');
SELECT * FROM fv ORDER BY a;

-- qualified, quoted names
SELECT coordinator.create_materialized_view('"Odd Schema"."Odd ""View"""', 'SELECT b FROM ff.src');
SELECT * FROM "Odd Schema"."Odd ""View""" ORDER BY b;

-- refusals come through with their position in the statement
SELECT coordinator.create_materialized_view('bad', 'SELECT a, now() FROM src');

-- nor WITH NO DATA, as in CREATE MATERIALIZED VIEW ... WITH (incremental)
SELECT coordinator.create_materialized_view('nodata', 'SELECT a FROM src WITH NO DATA');
SELECT to_regclass('ff.nodata');

-- the query cannot carry a second statement
SELECT coordinator.create_materialized_view('inj', 'SELECT a FROM src; DROP TABLE canary');
SELECT coordinator.create_materialized_view('inj', 'SELECT a FROM src WITH NO DATA; DROP TABLE canary');
SELECT coordinator.create_materialized_view('inj', 'DROP TABLE canary');
SELECT coordinator.create_materialized_view('inj', '');
SELECT count(*) FROM canary;
SELECT to_regclass('ff.inj');

-- a name that is not a name
SELECT coordinator.create_materialized_view('a.b.c.d', 'SELECT a FROM src');

DROP SCHEMA ff CASCADE;
DROP SCHEMA "Odd Schema" CASCADE;
