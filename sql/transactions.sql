-- Maintained-view DDL is transactional: ROLLBACK leaves no trace.
CREATE SCHEMA tx;
SET search_path = tx, public;
CREATE TABLE src (a int);
INSERT INTO src VALUES (1), (2);

BEGIN;
CREATE MATERIALIZED VIEW gone WITH (incremental) AS SELECT a FROM src;
SELECT count(*) FROM coordinator.objects WHERE relid = 'gone'::regclass;
ROLLBACK;
SELECT to_regclass('tx.gone');
SELECT count(*) FROM coordinator.objects o
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = o.relid);

BEGIN;
SAVEPOINT s;
CREATE MATERIALIZED VIEW gone2 WITH (incremental) AS SELECT a FROM src;
ROLLBACK TO s;
COMMIT;
SELECT to_regclass('tx.gone2');

-- the creating transaction cannot read the view: the dataflow starts at commit
BEGIN;
CREATE MATERIALIZED VIEW kept WITH (incremental) AS SELECT a FROM src;
SELECT * FROM kept;
ROLLBACK;

BEGIN;
CREATE MATERIALIZED VIEW kept WITH (incremental) AS SELECT a FROM src;
INSERT INTO src VALUES (3);
COMMIT;
SELECT * FROM kept ORDER BY a;

-- a rolled-back DROP leaves the view maintained
BEGIN;
DROP MATERIALIZED VIEW kept;
ROLLBACK;
INSERT INTO src VALUES (4);
SELECT * FROM kept ORDER BY a;

-- reads in a READ COMMITTED transaction see every earlier commit
BEGIN;
SELECT count(*) FROM kept;
INSERT INTO src VALUES (5);
SELECT count(*) FROM kept;
COMMIT;
SELECT count(*) FROM kept;

-- a REPEATABLE READ transaction reading a current view is fine
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM kept;
SELECT count(*) FROM kept;
COMMIT;

DROP SCHEMA tx CASCADE;
