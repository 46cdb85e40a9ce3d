-- Partitioned tables as sources: a view over the partitioned table sees
-- every partition's changes as the table's, at every level of
-- partitioning, DEFAULT partitions included; rows moved between
-- partitions by an UPDATE of the partition key; partitions created,
-- attached (with their rows), detached (also CONCURRENTLY), dropped and
-- truncated; every partition logs full old rows; what cannot be read from
-- the WAL is refused.
CREATE SCHEMA parts;
SET search_path = parts, public;

-- orders by region (LIST), Europe again by day (RANGE), a DEFAULT
-- partition at both levels
CREATE TABLE orders (id int, region text, day date, amount int)
  PARTITION BY LIST (region);
CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu')
  PARTITION BY RANGE (day);
CREATE TABLE orders_eu_2025 PARTITION OF orders_eu
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE orders_eu_other PARTITION OF orders_eu DEFAULT;
CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us');
CREATE TABLE orders_other PARTITION OF orders DEFAULT;
INSERT INTO orders VALUES
  (1, 'eu', '2025-03-01', 10), (2, 'eu', '2024-03-01', 20),
  (3, 'us', '2025-03-01', 30), (4, 'ap', '2025-03-01', 40),
  (5, NULL, '2025-03-01', 50);

CREATE MATERIALIZED VIEW per_region WITH (incremental) AS
  SELECT region, count(*) AS n, sum(amount) AS total FROM orders GROUP BY region;
CREATE MATERIALIZED VIEW all_orders WITH (incremental) AS
  SELECT id, region, day, amount FROM orders;
-- a partition read directly, and a partitioned partition
CREATE MATERIALIZED VIEW us_orders WITH (incremental) AS
  SELECT id, amount FROM orders_us;
CREATE MATERIALIZED VIEW eu_orders WITH (incremental) AS
  SELECT id, day FROM orders_eu;
-- every partition logs full old rows (the partitioned tables have no rows)
SELECT c.relname, c.relreplident FROM pg_class c
 WHERE c.relname LIKE 'orders%' AND c.relnamespace = 'parts'::regnamespace
 ORDER BY c.relname;
-- the catalog and the frontiers name the partitioned table, not its partitions
SELECT s.relid::regclass FROM coordinator.sources s
  JOIN coordinator.objects o ON o.id = s.object_id
 WHERE o.relid = 'per_region'::regclass;
SELECT count(*) FROM coordinator.frontiers WHERE kind = 'source' AND relname = 'orders';
SELECT * FROM per_region ORDER BY region;

-- the dataflow checks a view against its query
CREATE FUNCTION check_views() RETURNS TABLE (view text, missing bigint, extra bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN VALUES ('per_region', 'SELECT region, count(*), sum(amount) FROM orders GROUP BY region'),
                  ('all_orders', 'SELECT id, region, day, amount FROM orders'),
                  ('us_orders', 'SELECT id, amount FROM orders_us'),
                  ('eu_orders', 'SELECT id, day FROM orders_eu') LOOP
    EXECUTE format('SELECT (SELECT count(*) FROM (%s EXCEPT ALL TABLE %I) a),
                           (SELECT count(*) FROM (TABLE %I EXCEPT ALL %s) b)',
                   r.column2, r.column1, r.column1, r.column2) INTO missing, extra;
    view := r.column1;
    IF missing <> 0 OR extra <> 0 THEN
      RETURN NEXT;
    END IF;
  END LOOP;
END $$;

-- rows moved between partitions, at both levels, and in and out of the
-- DEFAULT partitions, in one transaction with other changes
BEGIN;
UPDATE orders SET region = 'us' WHERE id = 1;
UPDATE orders SET day = '2025-07-01' WHERE id = 2;
UPDATE orders SET region = 'eu' WHERE id = 4;
UPDATE orders SET region = 'zz', amount = amount + 1 WHERE id = 5;
INSERT INTO orders VALUES (6, 'eu', '2027-01-01', 60);
COMMIT;
SELECT * FROM all_orders ORDER BY id;
SELECT * FROM check_views();
-- a move rolled back is never seen
BEGIN;
UPDATE orders SET region = 'ap' WHERE id = 3;
ROLLBACK;
SELECT * FROM us_orders ORDER BY id;

-- CREATE TABLE ... PARTITION OF: the new partition logs full rows
CREATE TABLE orders_sa PARTITION OF orders FOR VALUES IN ('sa');
SELECT relreplident FROM pg_class WHERE oid = 'orders_sa'::regclass;
INSERT INTO orders VALUES (7, 'sa', '2025-01-02', 70);
UPDATE orders SET amount = 71 WHERE id = 7;
SELECT * FROM per_region ORDER BY region;
-- a sub-partition under a partitioned partition, too
CREATE TABLE orders_eu_2026 PARTITION OF orders_eu
  FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
SELECT relreplident FROM pg_class WHERE oid = 'orders_eu_2026'::regclass;
INSERT INTO orders VALUES (8, 'eu', '2026-05-01', 80);
DELETE FROM orders WHERE id = 8;
INSERT INTO orders VALUES (8, 'eu', '2026-06-01', 81);
SELECT * FROM eu_orders ORDER BY id;

-- ATTACH PARTITION of a table that holds rows (its columns in another
-- order): they appear, and its later changes are followed
CREATE TABLE orders_ap (amount int, day date, id int, region text);
INSERT INTO orders_ap VALUES (90, '2025-01-01', 9, 'ap'), (100, '2025-01-01', 10, 'ap');
ALTER TABLE orders ATTACH PARTITION orders_ap FOR VALUES IN ('ap');
SELECT relreplident FROM pg_class WHERE oid = 'orders_ap'::regclass;
SELECT * FROM per_region ORDER BY region;
UPDATE orders_ap SET amount = 91 WHERE id = 9;
DELETE FROM orders_ap WHERE id = 10;
SELECT * FROM all_orders WHERE region = 'ap' ORDER BY id;

-- DETACH PARTITION: its rows leave the view; changes to the detached
-- table no longer reach it
ALTER TABLE orders DETACH PARTITION orders_sa;
SELECT * FROM per_region ORDER BY region;
INSERT INTO orders_sa VALUES (11, 'sa', '2025-01-01', 110);
SELECT count(*) FROM all_orders WHERE region = 'sa';
-- attached again, with the row added meanwhile
ALTER TABLE orders ATTACH PARTITION orders_sa FOR VALUES IN ('sa');
SELECT id, amount FROM all_orders WHERE region = 'sa' ORDER BY id;

-- TRUNCATE of one partition, DROP of another
TRUNCATE orders_us;
SELECT * FROM us_orders;
SELECT * FROM per_region ORDER BY region;
DROP TABLE orders_ap;
SELECT * FROM per_region ORDER BY region;
SELECT * FROM check_views();

-- tables read through UNION ALL are named in the catalog too
CREATE TABLE archive (id int, region text, day date, amount int);
CREATE MATERIALIZED VIEW everything WITH (incremental) AS
  SELECT id, amount FROM orders UNION ALL SELECT id, amount FROM archive;
SELECT s.relid::regclass FROM coordinator.sources s
  JOIN coordinator.objects o ON o.id = s.object_id
 WHERE o.relid = 'everything'::regclass ORDER BY 1;
CREATE TABLE orders_zz PARTITION OF orders FOR VALUES IN ('zz2');
INSERT INTO orders VALUES (12, 'zz2', '2025-01-01', 120);
SELECT count(*) FROM everything WHERE id = 12;

-- a partitioned table without partitions yet: an empty view that fills
-- as partitions come
CREATE TABLE events (id int, kind text) PARTITION BY LIST (kind);
CREATE MATERIALIZED VIEW event_kinds WITH (incremental) AS
  SELECT kind, count(*) AS n FROM events GROUP BY kind;
SELECT * FROM event_kinds;
CREATE TABLE events_click PARTITION OF events FOR VALUES IN ('click');
INSERT INTO events VALUES (1, 'click'), (2, 'click');
CREATE TABLE events_view PARTITION OF events FOR VALUES IN ('view');
INSERT INTO events VALUES (3, 'view');
SELECT * FROM event_kinds ORDER BY kind;
-- DETACH ... CONCURRENTLY (a table without a DEFAULT partition)
ALTER TABLE events DETACH PARTITION events_view CONCURRENTLY;
SELECT * FROM event_kinds ORDER BY kind;

-- a partition that cannot be read from the WAL is refused
CREATE UNLOGGED TABLE orders_xx PARTITION OF orders FOR VALUES IN ('xx');
CREATE UNLOGGED TABLE loose_xx (id int, region text, day date, amount int);
ALTER TABLE orders ATTACH PARTITION loose_xx FOR VALUES IN ('xx');
ALTER TABLE orders_eu_2025 SET UNLOGGED;
ALTER TABLE orders_eu_2025 REPLICA IDENTITY DEFAULT;
CREATE FOREIGN DATA WRAPPER parts_fdw;
CREATE SERVER parts_server FOREIGN DATA WRAPPER parts_fdw;
CREATE FOREIGN TABLE orders_ft PARTITION OF orders FOR VALUES IN ('ft') SERVER parts_server;
-- a partitioned table with an unlogged partition is refused at CREATE
CREATE TABLE logs (id int, at date) PARTITION BY RANGE (at);
CREATE UNLOGGED TABLE logs_2025 PARTITION OF logs FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE MATERIALIZED VIEW log_count WITH (incremental) AS SELECT count(*) FROM logs;
-- the unlogged partition is pruned away by the query: nothing to refuse
CREATE MATERIALIZED VIEW old_logs WITH (incremental) AS
  SELECT id FROM logs WHERE at < '2025-01-01';
SELECT count(*) FROM old_logs;
-- once logged, the table can be attached
ALTER TABLE loose_xx SET LOGGED;
ALTER TABLE orders ATTACH PARTITION loose_xx FOR VALUES IN ('xx');
SELECT relreplident FROM pg_class WHERE oid = 'loose_xx'::regclass;

SELECT * FROM check_views();
DROP SCHEMA parts CASCADE;
