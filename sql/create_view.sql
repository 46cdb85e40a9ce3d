-- CREATE MATERIALIZED VIEW ... WITH (incremental): the first maintained view.
CREATE SCHEMA cv;
SET search_path = cv, public;

CREATE TABLE items (id int, name text, price numeric, qty int);
INSERT INTO items VALUES (1, 'apple', 1.20, 10), (2, 'pear', 2.50, 0),
  (3, 'plum', 0.80, 5), (4, NULL, NULL, 7);

CREATE MATERIALIZED VIEW in_stock WITH (incremental) AS
  SELECT id, upper(name) AS name, price * qty AS value
    FROM items WHERE qty > 0;

-- a strict read waits for the dataflow worker to populate the view
SELECT * FROM in_stock ORDER BY id;

-- the source now logs full old rows
SELECT relreplident FROM pg_class WHERE oid = 'items'::regclass;

-- it is a materialized view, recorded in the catalog
\d in_stock
SELECT kind, definition, owner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS mine
  FROM coordinator.objects WHERE relid = 'in_stock'::regclass;
SELECT s.relid::regclass FROM coordinator.sources s
  JOIN coordinator.objects o ON o.id = s.object_id
 WHERE o.relid = 'in_stock'::regclass;
SELECT name, state, last_error FROM coordinator.objects WHERE relid = 'in_stock'::regclass;
SELECT object, kind, since <= upper - 1 AS readable
  FROM coordinator.frontiers WHERE object IN ('in_stock'::regclass, 'items'::regclass)
 ORDER BY kind;

-- it follows its source
INSERT INTO items VALUES (5, 'kiwi', 0.50, 3);
UPDATE items SET qty = 0 WHERE id = 1;
SELECT * FROM in_stock ORDER BY id;

-- column names, IF NOT EXISTS
CREATE MATERIALIZED VIEW named (item, total) WITH (incremental) AS
  SELECT id, price * qty FROM items;
SELECT * FROM named ORDER BY item;
CREATE MATERIALIZED VIEW IF NOT EXISTS named WITH (incremental) AS SELECT 1 FROM items;
CREATE MATERIALIZED VIEW named WITH (incremental) AS SELECT 1 FROM items;

-- users cannot write to it
INSERT INTO in_stock VALUES (9, 'x', 1);
UPDATE in_stock SET value = 0;
DELETE FROM in_stock;
TRUNCATE in_stock;
COPY in_stock FROM '/dev/null';
SELECT * FROM in_stock ORDER BY id;

-- indexes on it are maintained
CREATE INDEX ON in_stock (name);
INSERT INTO items VALUES (6, 'fig', 3.00, 1);
SET enable_seqscan = off;
SELECT id, name FROM in_stock WHERE name = 'FIG';
RESET enable_seqscan;

-- REFRESH of a maintained view waits until it is current; WITH NO DATA is refused
INSERT INTO items VALUES (7, 'lime', 0.30, 9);
REFRESH MATERIALIZED VIEW in_stock;
SET coordinator.isolation = 'serializable';
SELECT count(*) FROM in_stock;
RESET coordinator.isolation;
REFRESH MATERIALIZED VIEW in_stock WITH NO DATA;

-- incremental = false, and no option, keep Postgres's own materialized views
CREATE MATERIALIZED VIEW plain1 WITH (incremental = false) AS SELECT id FROM items;
CREATE MATERIALIZED VIEW plain2 AS SELECT id FROM items;
SELECT count(*) FROM coordinator.objects WHERE relid IN ('plain1'::regclass, 'plain2'::regclass);
INSERT INTO items VALUES (8, 'date', 1.00, 1);
SELECT count(*) FROM plain1;
REFRESH MATERIALIZED VIEW plain1;
SELECT count(*) FROM plain1;

-- DROP removes the view and its catalog rows
DROP MATERIALIZED VIEW named;
SELECT count(*) FROM coordinator.objects o WHERE NOT EXISTS
  (SELECT 1 FROM pg_class c WHERE c.oid = o.relid);

-- a view over a table the creator cannot read is refused
CREATE ROLE regress_cv_reader;
GRANT USAGE, CREATE ON SCHEMA cv TO regress_cv_reader;
SET ROLE regress_cv_reader;
CREATE MATERIALIZED VIEW secret WITH (incremental) AS SELECT id FROM items;
RESET ROLE;

-- a role that owns its table can create a maintained view
SET ROLE regress_cv_reader;
CREATE TABLE own (x int);
INSERT INTO own VALUES (1), (2);
CREATE MATERIALIZED VIEW own_v WITH (incremental) AS SELECT x * 10 AS x10 FROM own;
INSERT INTO own VALUES (3);
SELECT * FROM own_v ORDER BY x10;
DROP MATERIALIZED VIEW own_v;
DROP TABLE own;
RESET ROLE;
REVOKE ALL ON SCHEMA cv FROM regress_cv_reader;
DROP ROLE regress_cv_reader;

DROP SCHEMA cv CASCADE;
