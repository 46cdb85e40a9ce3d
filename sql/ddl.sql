-- DDL on the sources of maintained views: what Postgres allows leaves each
-- view equal to its query through the writes that follow (EXCEPT ALL both
-- ways returns no rows); what would break a view is refused.
-- (sql/dependencies.sql has the basic refusals, DROP ... CASCADE and view
-- renames; sql/truncate.sql has TRUNCATE.)
CREATE SCHEMA ddl;
CREATE SCHEMA ddl_moved;
SET search_path = ddl, public;
\set VERBOSITY default
-- this file's maintained views, and catalog rows left without a view
CREATE VIEW mine AS
  SELECT (SELECT count(*) FROM coordinator.objects o JOIN pg_class c ON c.oid = o.relid
           WHERE c.relnamespace IN ('ddl'::regnamespace, 'ddl_moved'::regnamespace)) AS views,
         (SELECT count(*) FROM coordinator.objects o
           WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = o.relid)) AS orphans;

CREATE TABLE src (pre int, id int, a int, b text);
INSERT INTO src SELECT g, g, g * 10, 'b' || (g % 3) FROM generate_series(1, 9) g;
CREATE MATERIALIZED VIEW v WITH (incremental) AS
  SELECT id, a, b FROM src WHERE a > 25;
CREATE MATERIALIZED VIEW g WITH (incremental) AS
  SELECT b, sum(a) AS total, count(*) AS n FROM src GROUP BY b;
-- SELECT * is expanded at CREATE, as for any view: later columns are not in it
CREATE MATERIALIZED VIEW s WITH (incremental) AS SELECT * FROM src;
SELECT * FROM v ORDER BY id;
SELECT * FROM g ORDER BY b;
SELECT count(*) FROM s;

-- ADD COLUMN without a default, then writes that set it or not
ALTER TABLE src ADD COLUMN c int;
INSERT INTO src VALUES (10, 10, 100, 'b1', 1), (11, 11, 110, 'b2', NULL);
UPDATE src SET a = a + 1, c = 2 WHERE id <= 3;
UPDATE src SET c = 3 WHERE id = 5;
DELETE FROM src WHERE id = 4;
SELECT * FROM v ORDER BY id;
SELECT * FROM g ORDER BY b;
\d s
(TABLE v EXCEPT ALL SELECT id, a, b FROM src WHERE a > 25)
UNION ALL (SELECT id, a, b FROM src WHERE a > 25 EXCEPT ALL TABLE v);
(TABLE g EXCEPT ALL SELECT b, sum(a), count(*) FROM src GROUP BY b)
UNION ALL (SELECT b, sum(a), count(*) FROM src GROUP BY b EXCEPT ALL TABLE g);
(TABLE s EXCEPT ALL SELECT pre, id, a, b FROM src)
UNION ALL (SELECT pre, id, a, b FROM src EXCEPT ALL TABLE s);

-- ADD COLUMN with a constant default (kept in the catalog: the rows are not
-- rewritten) and with a volatile one (the table is rewritten)
ALTER TABLE src ADD COLUMN d text DEFAULT 'dflt';
ALTER TABLE src ADD COLUMN e float8 DEFAULT random();
INSERT INTO src (pre, id, a, b) VALUES (12, 12, 120, 'b0');
UPDATE src SET b = 'b9', d = 'set' WHERE id IN (1, 6);
UPDATE src SET a = a - 100 WHERE id = 10;
DELETE FROM src WHERE id IN (2, 7);
SELECT * FROM v ORDER BY id;
SELECT * FROM g ORDER BY b;
(TABLE v EXCEPT ALL SELECT id, a, b FROM src WHERE a > 25)
UNION ALL (SELECT id, a, b FROM src WHERE a > 25 EXCEPT ALL TABLE v);
(TABLE g EXCEPT ALL SELECT b, sum(a), count(*) FROM src GROUP BY b)
UNION ALL (SELECT b, sum(a), count(*) FROM src GROUP BY b EXCEPT ALL TABLE g);
(TABLE s EXCEPT ALL SELECT pre, id, a, b FROM src)
UNION ALL (SELECT pre, id, a, b FROM src EXCEPT ALL TABLE s);

-- a view of added columns: the old rows hold d only as the catalog's
-- default (the WAL's old row of their UPDATE or DELETE lacks it)
CREATE TABLE m (id int);
INSERT INTO m SELECT generate_series(1, 5);
ALTER TABLE m ADD COLUMN d text DEFAULT 'dflt', ADD COLUMN n int;
CREATE MATERIALIZED VIEW md WITH (incremental) AS
  SELECT d, count(*) AS n, sum(id) AS ids FROM m GROUP BY d;
SELECT * FROM md ORDER BY d;
UPDATE m SET n = 1 WHERE id = 1;
UPDATE m SET d = 'new' WHERE id = 2;
DELETE FROM m WHERE id = 3;
SELECT * FROM md ORDER BY d;
(TABLE md EXCEPT ALL SELECT d, count(*), sum(id) FROM m GROUP BY d)
UNION ALL (SELECT d, count(*), sum(id) FROM m GROUP BY d EXCEPT ALL TABLE md);

-- DROP COLUMN of columns no view uses: the added ones, and then one before
-- the columns the views read (once the view that reads it is gone)
ALTER TABLE src DROP COLUMN c, DROP COLUMN e;
ALTER TABLE src DROP COLUMN d;
\d s
(TABLE s EXCEPT ALL SELECT pre, id, a, b FROM src)
UNION ALL (SELECT pre, id, a, b FROM src EXCEPT ALL TABLE s);
ALTER TABLE src DROP COLUMN pre;
DROP MATERIALIZED VIEW s;
ALTER TABLE src DROP COLUMN pre;
INSERT INTO src VALUES (13, 130, 'b1');
UPDATE src SET a = a + 5 WHERE id IN (3, 5, 13);
DELETE FROM src WHERE id = 8;
SELECT * FROM v ORDER BY id;
SELECT * FROM g ORDER BY b;
(TABLE v EXCEPT ALL SELECT id, a, b FROM src WHERE a > 25)
UNION ALL (SELECT id, a, b FROM src WHERE a > 25 EXCEPT ALL TABLE v);
(TABLE g EXCEPT ALL SELECT b, sum(a), count(*) FROM src GROUP BY b)
UNION ALL (SELECT b, sum(a), count(*) FROM src GROUP BY b EXCEPT ALL TABLE g);

-- DDL and writes in one transaction, the table rewritten in the middle
BEGIN;
INSERT INTO src VALUES (14, 140, 'b2');
ALTER TABLE src ADD COLUMN z int DEFAULT 1;
UPDATE src SET a = a + 1, z = 2 WHERE id <= 5;
ALTER TABLE src ALTER COLUMN z TYPE bigint;
DELETE FROM src WHERE id = 6;
ALTER TABLE src DROP COLUMN z;
UPDATE src SET b = 'b0' WHERE id = 14;
COMMIT;
SELECT * FROM v ORDER BY id;
(TABLE v EXCEPT ALL SELECT id, a, b FROM src WHERE a > 25)
UNION ALL (SELECT id, a, b FROM src WHERE a > 25 EXCEPT ALL TABLE v);
(TABLE g EXCEPT ALL SELECT b, sum(a), count(*) FROM src GROUP BY b)
UNION ALL (SELECT b, sum(a), count(*) FROM src GROUP BY b EXCEPT ALL TABLE g);

-- other commands that write the table anew with the same rows
ALTER TABLE src ADD COLUMN junk int DEFAULT 0;
ALTER TABLE src ALTER COLUMN junk TYPE bigint;
VACUUM FULL src;
ALTER TABLE src DROP COLUMN junk;
UPDATE src SET a = a * 2 WHERE id IN (1, 9);
DELETE FROM src WHERE id = 3;
(TABLE v EXCEPT ALL SELECT id, a, b FROM src WHERE a > 25)
UNION ALL (SELECT id, a, b FROM src WHERE a > 25 EXCEPT ALL TABLE v);
(TABLE g EXCEPT ALL SELECT b, sum(a), count(*) FROM src GROUP BY b)
UNION ALL (SELECT b, sum(a), count(*) FROM src GROUP BY b EXCEPT ALL TABLE g);

-- a column no view reads changes type: views that aggregate or
-- deduplicate the table's rows stay equal to their queries too
CREATE TABLE ct (id int, k text, x int, junk int);
INSERT INTO ct SELECT g, 'k' || (g % 2), g, g FROM generate_series(1, 6) g;
CREATE MATERIALIZED VIEW ct_sum WITH (incremental) AS
  SELECT k, count(*) AS n, sum(x) AS total FROM ct GROUP BY k;
CREATE MATERIALIZED VIEW ct_distinct WITH (incremental) AS SELECT DISTINCT k FROM ct;
CREATE MATERIALIZED VIEW ct_top WITH (incremental) AS
  SELECT id, x FROM ct ORDER BY x DESC LIMIT 2;
SELECT * FROM ct_sum ORDER BY k;
SELECT * FROM ct_distinct ORDER BY k;
SELECT * FROM ct_top ORDER BY id;
ALTER TABLE ct ALTER COLUMN junk TYPE text;
UPDATE ct SET x = x + 10 WHERE id IN (1, 2);
DELETE FROM ct WHERE id = 6;
UPDATE ct SET k = 'k2' WHERE id = 3;
(TABLE ct_sum EXCEPT ALL SELECT k, count(*), sum(x) FROM ct GROUP BY k)
UNION ALL (SELECT k, count(*), sum(x) FROM ct GROUP BY k EXCEPT ALL TABLE ct_sum);
(TABLE ct_distinct EXCEPT ALL SELECT DISTINCT k FROM ct)
UNION ALL (SELECT DISTINCT k FROM ct EXCEPT ALL TABLE ct_distinct);
(TABLE ct_top EXCEPT ALL (SELECT id, x FROM ct ORDER BY x DESC LIMIT 2))
UNION ALL ((SELECT id, x FROM ct ORDER BY x DESC LIMIT 2) EXCEPT ALL TABLE ct_top);

-- a table rewritten just after CREATE, while its new view is populated
CREATE TABLE rw (a int, junk int);
INSERT INTO rw SELECT g, g FROM generate_series(1, 5) g;
CREATE MATERIALIZED VIEW rwv WITH (incremental) AS SELECT a FROM rw;
ALTER TABLE rw ALTER COLUMN junk TYPE bigint;
INSERT INTO rw VALUES (6, 6);
SELECT * FROM rwv ORDER BY a;
(TABLE rwv EXCEPT ALL SELECT a FROM rw)
UNION ALL (SELECT a FROM rw EXCEPT ALL TABLE rwv);

-- DROP COLUMN and ALTER COLUMN TYPE of a column a view uses: Postgres
-- refuses (a column used only in WHERE or GROUP BY counts too)
CREATE TABLE dep_t (k int, x int, y text);
INSERT INTO dep_t VALUES (1, 1, 'one');
CREATE MATERIALIZED VIEW dep_v WITH (incremental) AS
  SELECT k, count(*) AS n FROM dep_t WHERE x > 0 GROUP BY k;
SELECT * FROM dep_v;
ALTER TABLE dep_t DROP COLUMN x;
ALTER TABLE dep_t ALTER COLUMN x TYPE bigint;
ALTER TABLE dep_t ALTER COLUMN k TYPE numeric;
-- DROP COLUMN ... CASCADE drops the view and its catalog row
ALTER TABLE dep_t DROP COLUMN x CASCADE;
SELECT to_regclass('ddl.dep_v');
SELECT * FROM mine;

-- a view that stores whole rows of its source: Postgres refuses a column
-- that rewrites the table (the view's column has the table's row type),
-- allows one without a default and DROP COLUMN
CREATE TABLE wr (a int, b text, c int);
INSERT INTO wr VALUES (1, 'x', 10), (2, 'y', 20);
CREATE MATERIALIZED VIEW wrv WITH (incremental) AS SELECT w FROM wr w WHERE a > 0;
SELECT * FROM wrv ORDER BY w::text COLLATE "C";
ALTER TABLE wr ADD COLUMN d int DEFAULT 7;
ALTER TABLE wr ADD COLUMN d int;
ALTER TABLE wr DROP COLUMN c;
INSERT INTO wr VALUES (3, 'z', 30);
UPDATE wr SET b = 'xx' WHERE a = 1;
DELETE FROM wr WHERE a = 2;
SELECT (w).* FROM wrv ORDER BY 1;
(TABLE wrv EXCEPT ALL SELECT w FROM wr w WHERE a > 0)
UNION ALL (SELECT w FROM wr w WHERE a > 0 EXCEPT ALL TABLE wrv);

-- RENAME COLUMN of a used column: the view keeps working; Postgres's
-- definition follows the rename, coordinator.objects.definition is the
-- text as written at CREATE
ALTER TABLE src RENAME COLUMN a TO amount;
INSERT INTO src VALUES (15, 150, 'b1');
UPDATE src SET amount = amount + 1 WHERE id = 15;
DELETE FROM src WHERE id = 1;
SELECT * FROM v ORDER BY id;
(TABLE v EXCEPT ALL SELECT id, amount, b FROM src WHERE amount > 25)
UNION ALL (SELECT id, amount, b FROM src WHERE amount > 25 EXCEPT ALL TABLE v);
(TABLE g EXCEPT ALL SELECT b, sum(amount), count(*) FROM src GROUP BY b)
UNION ALL (SELECT b, sum(amount), count(*) FROM src GROUP BY b EXCEPT ALL TABLE g);
SELECT pg_get_viewdef('v'::regclass);
SELECT definition FROM coordinator.objects WHERE relid = 'v'::regclass;
-- renaming a column of the view itself
ALTER MATERIALIZED VIEW v RENAME COLUMN a TO a_view;
INSERT INTO src VALUES (16, 160, 'b2');
SELECT * FROM v WHERE id = 16;

-- RENAME and SET SCHEMA of the source: the views follow their table
ALTER TABLE src RENAME TO src_renamed;
INSERT INTO src_renamed VALUES (17, 170, 'b0');
UPDATE src_renamed SET b = 'b1' WHERE id = 9;
ALTER TABLE src_renamed SET SCHEMA ddl_moved;
INSERT INTO ddl_moved.src_renamed VALUES (18, 180, 'b2');
UPDATE ddl_moved.src_renamed SET amount = 0 WHERE id = 5;
DELETE FROM ddl_moved.src_renamed WHERE id = 10;
SELECT * FROM v ORDER BY id;
(TABLE v EXCEPT ALL SELECT id, amount, b FROM ddl_moved.src_renamed WHERE amount > 25)
UNION ALL (SELECT id, amount, b FROM ddl_moved.src_renamed WHERE amount > 25 EXCEPT ALL TABLE v);
(TABLE g EXCEPT ALL SELECT b, sum(amount), count(*) FROM ddl_moved.src_renamed GROUP BY b)
UNION ALL (SELECT b, sum(amount), count(*) FROM ddl_moved.src_renamed GROUP BY b EXCEPT ALL TABLE g);
SELECT o.name, s.relid::regclass AS source
  FROM coordinator.sources s JOIN coordinator.objects o ON o.id = s.object_id
 WHERE o.relid IN ('v'::regclass, 'g'::regclass) ORDER BY o.name::text COLLATE "C";

-- TRUNCATE in the transaction that changed the table's columns: the
-- worker restarts and rebuilds the views from the table as it is now
BEGIN;
ALTER TABLE ddl_moved.src_renamed ADD COLUMN t text DEFAULT 'x';
TRUNCATE ddl_moved.src_renamed;
INSERT INTO ddl_moved.src_renamed VALUES (1, 100, 'b1', 'y'), (2, 5, 'b2', 'z');
COMMIT;
UPDATE ddl_moved.src_renamed SET amount = 200 WHERE id = 2;
SELECT * FROM v ORDER BY id;
(TABLE g EXCEPT ALL SELECT b, sum(amount), count(*) FROM ddl_moved.src_renamed GROUP BY b)
UNION ALL (SELECT b, sum(amount), count(*) FROM ddl_moved.src_renamed GROUP BY b EXCEPT ALL TABLE g);
-- (the restart rebuilt every view of the worker: those over tables whose
-- unused columns were dropped or changed type too)
INSERT INTO ct VALUES (7, 'k1', 70, '7');
(TABLE ct_sum EXCEPT ALL SELECT k, count(*), sum(x) FROM ct GROUP BY k)
UNION ALL (SELECT k, count(*), sum(x) FROM ct GROUP BY k EXCEPT ALL TABLE ct_sum);
(TABLE ct_distinct EXCEPT ALL SELECT DISTINCT k FROM ct)
UNION ALL (SELECT DISTINCT k FROM ct EXCEPT ALL TABLE ct_distinct);
(TABLE ct_top EXCEPT ALL (SELECT id, x FROM ct ORDER BY x DESC LIMIT 2))
UNION ALL ((SELECT id, x FROM ct ORDER BY x DESC LIMIT 2) EXCEPT ALL TABLE ct_top);
INSERT INTO wr VALUES (4, 'q');
(TABLE wrv EXCEPT ALL SELECT w FROM wr w WHERE a > 0)
UNION ALL (SELECT w FROM wr w WHERE a > 0 EXCEPT ALL TABLE wrv);
SELECT name, state, last_error FROM coordinator.objects
 WHERE relid IN (SELECT c.oid FROM pg_class c
                  WHERE c.relnamespace IN ('ddl'::regnamespace, 'ddl_moved'::regnamespace))
 ORDER BY name::text COLLATE "C";

-- REPLICA IDENTITY: CREATE makes a source's FULL (replacing USING INDEX
-- here); while a view reads the table it must stay FULL
CREATE TABLE ri (id int PRIMARY KEY, a int);
ALTER TABLE ri REPLICA IDENTITY USING INDEX ri_pkey;
INSERT INTO ri VALUES (1, 1), (2, 2), (3, 3);
CREATE MATERIALIZED VIEW riv WITH (incremental) AS SELECT id, a FROM ri;
SELECT relreplident FROM pg_class WHERE oid = 'ri'::regclass;
ALTER TABLE ri REPLICA IDENTITY DEFAULT;
ALTER TABLE ri REPLICA IDENTITY NOTHING;
ALTER TABLE ri REPLICA IDENTITY USING INDEX ri_pkey;
ALTER TABLE ri REPLICA IDENTITY FULL;
SELECT relreplident FROM pg_class WHERE oid = 'ri'::regclass;
UPDATE ri SET a = 20 WHERE id = 2;
DELETE FROM ri WHERE id = 1;
SELECT * FROM riv ORDER BY id;
-- once no view reads it, the table's identity is its owner's business
DROP MATERIALIZED VIEW riv;
ALTER TABLE ri REPLICA IDENTITY DEFAULT;

-- SET UNLOGGED of a source (its changes would no longer reach the WAL):
-- refused, or the views still equal their queries
CREATE TABLE ul (a int);
INSERT INTO ul VALUES (1);
CREATE MATERIALIZED VIEW ulv WITH (incremental) AS SELECT a FROM ul;
SELECT * FROM ulv;
DO $$
BEGIN
  ALTER TABLE ul SET UNLOGGED;
EXCEPTION WHEN OTHERS THEN NULL;
END $$;
INSERT INTO ul VALUES (2);
ALTER TABLE ul SET LOGGED;
INSERT INTO ul VALUES (3);
(TABLE ulv EXCEPT ALL SELECT a FROM ul)
UNION ALL (SELECT a FROM ul EXCEPT ALL TABLE ulv);

-- a maintained view over a plain view, and the plain view replaced:
-- refused, or the maintained view follows
CREATE TABLE pt (a int, b int);
INSERT INTO pt VALUES (1, 10), (2, 20);
CREATE VIEW plain AS SELECT a, b FROM pt WHERE a = 1;
CREATE MATERIALIZED VIEW over_plain WITH (incremental) AS SELECT a, b FROM plain;
SELECT * FROM over_plain;
DO $$
BEGIN
  CREATE OR REPLACE VIEW plain AS SELECT a, b FROM pt WHERE a = 2;
EXCEPTION WHEN OTHERS THEN NULL;
END $$;
INSERT INTO pt VALUES (2, 21), (1, 11);
(TABLE over_plain EXCEPT ALL SELECT a, b FROM plain)
UNION ALL (SELECT a, b FROM plain EXCEPT ALL TABLE over_plain);

-- DROP TABLE is refused while a view reads it; a rolled-back DROP ...
-- CASCADE leaves the views maintained; a committed one removes them and
-- their rows in coordinator.objects
DROP TABLE ddl_moved.src_renamed;
BEGIN;
DROP TABLE ddl_moved.src_renamed CASCADE;
ROLLBACK;
INSERT INTO ddl_moved.src_renamed VALUES (3, 300, 'b0');
SELECT * FROM v ORDER BY id;
SELECT count(*) FROM coordinator.objects WHERE relid IN ('v'::regclass, 'g'::regclass);
SELECT 'v'::regclass::oid AS v_oid, 'g'::regclass::oid AS g_oid \gset
DROP TABLE ddl_moved.src_renamed CASCADE;
SELECT to_regclass('ddl.v'), to_regclass('ddl.g');
SELECT count(*) FROM coordinator.objects WHERE relid IN (:v_oid, :g_oid);
SELECT count(*) FROM coordinator.sources s
 WHERE NOT EXISTS (SELECT 1 FROM coordinator.objects o WHERE o.id = s.object_id);

-- a partition (a leaf) is a plain source: rows routed through the parent,
-- moved in and out of it by UPDATE, the partition detached; and a source
-- attached as a partition (partitioned tables: sql/partitions.sql)
CREATE TABLE parted (k int, a int) PARTITION BY RANGE (k);
CREATE TABLE parted_lo PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TABLE parted_hi PARTITION OF parted FOR VALUES FROM (100) TO (200);
INSERT INTO parted SELECT g, g FROM generate_series(1, 191, 10) g;
CREATE MATERIALIZED VIEW pv WITH (incremental) AS SELECT k, a FROM parted_lo;
SELECT count(*), sum(a) FROM pv;
INSERT INTO parted VALUES (5, 5), (105, 105);
UPDATE parted SET a = -a WHERE k IN (1, 101);
UPDATE parted SET k = 150 WHERE k = 11;
UPDATE parted SET k = 12 WHERE k = 121;
DELETE FROM parted WHERE k = 21;
SELECT * FROM pv ORDER BY k;
(TABLE pv EXCEPT ALL SELECT k, a FROM parted_lo)
UNION ALL (SELECT k, a FROM parted_lo EXCEPT ALL TABLE pv);
ALTER TABLE parted DETACH PARTITION parted_lo;
INSERT INTO parted_lo VALUES (1000, 1);
DELETE FROM parted_lo WHERE k = 31;
(TABLE pv EXCEPT ALL SELECT k, a FROM parted_lo)
UNION ALL (SELECT k, a FROM parted_lo EXCEPT ALL TABLE pv);
CREATE TABLE loose (k int, a int);
INSERT INTO loose VALUES (201, 1), (202, 2);
CREATE MATERIALIZED VIEW lv WITH (incremental) AS SELECT k, a FROM loose;
SELECT * FROM lv ORDER BY k;
ALTER TABLE parted ATTACH PARTITION loose FOR VALUES FROM (200) TO (300);
INSERT INTO parted VALUES (203, 3);
UPDATE parted SET k = 204 WHERE k = 201;
UPDATE parted SET k = 199 WHERE k = 202;
SELECT * FROM lv ORDER BY k;
(TABLE lv EXCEPT ALL SELECT k, a FROM loose)
UNION ALL (SELECT k, a FROM loose EXCEPT ALL TABLE lv);

-- inheritance: a parent with children is refused as a source, and a
-- source cannot gain children (CREATE TABLE ... INHERITS, ALTER TABLE
-- ... INHERIT, a foreign table as the child)
CREATE TABLE par (a int);
CREATE TABLE kid () INHERITS (par);
INSERT INTO par VALUES (1);
INSERT INTO kid VALUES (2);
CREATE MATERIALIZED VIEW iv WITH (incremental) AS SELECT a FROM par;
CREATE TABLE base (a int);
INSERT INTO base VALUES (1), (2);
CREATE MATERIALIZED VIEW bv WITH (incremental) AS SELECT a FROM base;
SELECT * FROM bv ORDER BY a;
CREATE TABLE base_kid () INHERITS (base);
CREATE TABLE base_kid2 (a int);
ALTER TABLE base_kid2 INHERIT base;
CREATE FOREIGN DATA WRAPPER ddl_fdw;
CREATE SERVER ddl_server FOREIGN DATA WRAPPER ddl_fdw;
CREATE FOREIGN TABLE base_kid3 () INHERITS (base) SERVER ddl_server;
INSERT INTO base_kid2 VALUES (10);
INSERT INTO base VALUES (3);
(TABLE bv EXCEPT ALL SELECT a FROM base)
UNION ALL (SELECT a FROM base EXCEPT ALL TABLE bv);
-- FROM ONLY reads the parent alone: the view equals its query whether the
-- parent may then gain a child or not
CREATE MATERIALIZED VIEW iv WITH (incremental) AS SELECT a FROM ONLY par;
SELECT * FROM iv ORDER BY a;
DO $$
BEGIN
  ALTER TABLE base_kid2 INHERIT par;
EXCEPTION WHEN OTHERS THEN NULL;
END $$;
INSERT INTO par VALUES (3);
INSERT INTO kid VALUES (4);
INSERT INTO base_kid2 VALUES (5);
UPDATE par SET a = a + 10;
SELECT * FROM iv ORDER BY a;
(TABLE iv EXCEPT ALL SELECT a FROM ONLY par)
UNION ALL (SELECT a FROM ONLY par EXCEPT ALL TABLE iv);

-- CREATE and DROP in a transaction that rolls back leave no trace; a
-- view created and dropped in one committed transaction neither
CREATE TABLE tsrc (a int);
INSERT INTO tsrc VALUES (1), (2);
CREATE MATERIALIZED VIEW kept WITH (incremental) AS SELECT a FROM tsrc;
SELECT * FROM kept ORDER BY a;
SELECT * FROM mine;
BEGIN;
CREATE MATERIALIZED VIEW gone WITH (incremental) AS SELECT a FROM tsrc;
SELECT coordinator.create_materialized_view('gone_too', 'SELECT a * 2 AS a FROM tsrc');
DROP MATERIALIZED VIEW kept;
SELECT * FROM mine;
ROLLBACK;
SELECT to_regclass('ddl.gone'), to_regclass('ddl.gone_too');
SELECT count(*) FROM pg_class WHERE relname IN ('gone', 'gone_too');
SELECT * FROM mine;
BEGIN;
CREATE MATERIALIZED VIEW brief WITH (incremental) AS SELECT a FROM tsrc;
DROP MATERIALIZED VIEW brief;
COMMIT;
SELECT to_regclass('ddl.brief');
SELECT * FROM mine;
INSERT INTO tsrc VALUES (3);
SELECT * FROM kept ORDER BY a;
SELECT name, state FROM coordinator.objects WHERE relid = 'kept'::regclass;

-- ALTER MATERIALIZED VIEW RENAME (and SET SCHEMA) of a view: it stays
-- maintained under its new name; a rolled-back rename changes nothing
ALTER MATERIALIZED VIEW kept RENAME TO kept2;
INSERT INTO tsrc VALUES (4);
SELECT * FROM kept2 ORDER BY a;
SELECT name, state FROM coordinator.objects WHERE relid = 'kept2'::regclass;
BEGIN;
ALTER MATERIALIZED VIEW kept2 RENAME TO kept3;
ROLLBACK;
SELECT to_regclass('ddl.kept3');
ALTER MATERIALIZED VIEW kept2 SET SCHEMA ddl_moved;
DELETE FROM tsrc WHERE a = 1;
SELECT * FROM ddl_moved.kept2 ORDER BY a;
SELECT name, state FROM coordinator.objects WHERE relid = 'ddl_moved.kept2'::regclass;
(TABLE ddl_moved.kept2 EXCEPT ALL SELECT a FROM tsrc)
UNION ALL (SELECT a FROM tsrc EXCEPT ALL TABLE ddl_moved.kept2);

SET client_min_messages = warning;
DROP SCHEMA ddl CASCADE;
DROP SCHEMA ddl_moved CASCADE;
DROP SERVER ddl_server;
DROP FOREIGN DATA WRAPPER ddl_fdw;
RESET client_min_messages;
SELECT count(*) FROM coordinator.objects o
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = o.relid);
