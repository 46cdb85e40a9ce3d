-- Dependencies: sources cannot be dropped from under a view; CASCADE drops
-- the view and its dataflow; the extension cannot be dropped from under it.
CREATE SCHEMA dep;
SET search_path = dep, public;

CREATE TABLE src (a int, b int);
INSERT INTO src VALUES (1, 1), (2, 2);
CREATE MATERIALIZED VIEW v WITH (incremental) AS SELECT a, b FROM src WHERE a > 0;
SELECT * FROM v ORDER BY a;

DROP TABLE src;
ALTER TABLE src DROP COLUMN b;
ALTER TABLE src ALTER COLUMN a TYPE bigint;

-- adding a column and renaming the source keep the view working
ALTER TABLE src ADD COLUMN c text DEFAULT 'new';
ALTER TABLE src RENAME TO src_renamed;
INSERT INTO src_renamed VALUES (3, 3, 'x');
SELECT * FROM v ORDER BY a;

-- renaming the view keeps it maintained
ALTER MATERIALIZED VIEW v RENAME TO v2;
INSERT INTO src_renamed VALUES (4, 4);
SELECT * FROM v2 ORDER BY a;

-- the extension cannot be dropped while a view depends on it
DROP EXTENSION coordinator;
BEGIN;
DROP EXTENSION coordinator CASCADE;
ROLLBACK;
SELECT count(*) FROM coordinator.objects WHERE relid = 'v2'::regclass;

-- CASCADE drops the view, its catalog rows and (soon) its dataflow
DROP TABLE src_renamed CASCADE;
SELECT count(*) FROM pg_class WHERE relname = 'v2' AND relnamespace = 'dep'::regnamespace;
SELECT count(*) FROM coordinator.objects o
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = o.relid);
SELECT count(*) FROM coordinator.sources s
 WHERE NOT EXISTS (SELECT 1 FROM coordinator.objects o WHERE o.id = s.object_id);
DO $$
BEGIN
  FOR i IN 1..600 LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM coordinator.frontiers f
                           WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = f.object));
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT count(*) FROM coordinator.frontiers f
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = f.object);

-- DROP SCHEMA ... CASCADE too
CREATE TABLE src2 (a int);
CREATE MATERIALIZED VIEW v3 WITH (incremental) AS SELECT a FROM src2;
DROP SCHEMA dep CASCADE;
SELECT count(*) FROM coordinator.objects o
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = o.relid);
