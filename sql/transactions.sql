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

-- REFRESH in the transaction that created the view does not wait for a
-- worker, which cannot serve the view before the commit: Postgres's own
-- REFRESH populates it as the transaction sees the table, and the
-- transaction reads it so, also through a plain materialized view (as a
-- single-transaction restore does); after the commit the worker maintains
-- it, and it equals its query
BEGIN;
SET LOCAL statement_timeout = '10s';
CREATE MATERIALIZED VIEW refreshed WITH (incremental) AS SELECT a FROM src;
SAVEPOINT unpopulated;
SELECT count(*) FROM refreshed;
ROLLBACK TO unpopulated;
REFRESH MATERIALIZED VIEW refreshed;
SELECT relispopulated FROM pg_class WHERE oid = 'refreshed'::regclass;
INSERT INTO src VALUES (6);
SELECT (SELECT count(*) FROM refreshed) + 1 = (SELECT count(*) FROM src) AS as_at_the_refresh;
CREATE MATERIALIZED VIEW over_refreshed AS SELECT count(*) AS n FROM refreshed;
SELECT n + 1 = (SELECT count(*) FROM src) AS plain_view_over_it FROM over_refreshed;
COMMIT;
SELECT (SELECT count(*) FROM refreshed) = (SELECT count(*) FROM src) AS refreshed_equals_query;
DROP MATERIALIZED VIEW over_refreshed;

-- a view made maintained in this transaction by a restore's row of
-- coordinator.view_options (its relation created before): reads and
-- REFRESH do not wait for a worker either
CREATE MATERIALIZED VIEW restored AS SELECT a FROM src WITH NO DATA;
BEGIN;
SET LOCAL statement_timeout = '10s';
INSERT INTO coordinator.view_options VALUES ('restored', '1 second');
SAVEPOINT unpopulated;
SELECT count(*) FROM restored;
ROLLBACK TO unpopulated;
REFRESH MATERIALIZED VIEW restored;
SELECT (SELECT count(*) FROM restored) = (SELECT count(*) FROM src) AS restored_as_refreshed;
ROLLBACK;
BEGIN;
INSERT INTO coordinator.view_options VALUES ('restored', '1 second');
REFRESH MATERIALIZED VIEW restored;
COMMIT;
SELECT (SELECT count(*) FROM restored) = (SELECT count(*) FROM src) AS restored_equals_query;

DROP SCHEMA tx CASCADE;
