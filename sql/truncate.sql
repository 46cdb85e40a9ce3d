-- TRUNCATE of a source empties what it should.
CREATE SCHEMA tr;
SET search_path = tr, public;
CREATE TABLE src (a int);
CREATE TABLE other (a int);
INSERT INTO src SELECT generate_series(1, 100);
INSERT INTO other VALUES (1);
CREATE MATERIALIZED VIEW v WITH (incremental) AS SELECT a FROM src WHERE a % 10 = 0;
SELECT count(*) FROM v;

TRUNCATE src;
SELECT count(*) FROM v;

-- truncate between inserts in one transaction
BEGIN;
INSERT INTO src VALUES (10), (20);
TRUNCATE src;
INSERT INTO src VALUES (30), (31);
COMMIT;
SELECT * FROM v;

-- truncating another table changes nothing; truncating both does
TRUNCATE other;
SELECT * FROM v;
TRUNCATE src, other;
SELECT count(*) FROM v;

-- a rolled-back truncate changes nothing
INSERT INTO src VALUES (40);
BEGIN;
TRUNCATE src;
ROLLBACK;
SELECT * FROM v;

DROP SCHEMA tr CASCADE;
