-- Shared arrangements: the views of a worker that arrange the same scan of
-- a table by the same key read one arrangement (src/dataflow/shared.c).
CREATE SCHEMA sh;
SET search_path = sh, public;

CREATE TABLE orders (id int, customer int, amount int);
CREATE TABLE customers (id int, region text);
INSERT INTO orders SELECT i, i % 50, i % 7 FROM generate_series(1, 2000) i;
INSERT INTO customers SELECT c, 'r' || (c % 5) FROM generate_series(0, 49) c;

-- the same join under two aggregates: both sides shared
CREATE MATERIALIZED VIEW by_region WITH (incremental) AS
  SELECT c.region, sum(o.amount) AS total FROM orders o JOIN customers c ON o.customer = c.id
   GROUP BY c.region;
CREATE MATERIALIZED VIEW big_by_region WITH (incremental) AS
  SELECT c.region, count(*) AS n, max(o.amount) AS top FROM orders o JOIN customers c ON o.customer = c.id
   GROUP BY c.region;
-- another filter on orders: its orders side is its own, customers shared
CREATE MATERIALIZED VIEW large_orders WITH (incremental) AS
  SELECT o.id, c.region FROM orders o JOIN customers c ON o.customer = c.id
   WHERE o.amount > 4;
-- a LEFT JOIN's preserved side counts its matches: its own; the other shared
CREATE MATERIALIZED VIEW customer_orders WITH (incremental) AS
  SELECT c.id, count(o.amount) AS n FROM customers c LEFT JOIN orders o ON o.customer = c.id
   GROUP BY c.id;
-- a self-join: its two sides would be one arrangement; one is its own
CREATE MATERIALIZED VIEW same_customer WITH (incremental) AS
  SELECT a.region, count(*) AS pairs FROM customers a JOIN customers b ON a.id = b.id
   GROUP BY a.region;

-- each view against its query: rows in one and not the other
CREATE TABLE queries (name text PRIMARY KEY, query text NOT NULL);
INSERT INTO queries
SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c
 WHERE c.relnamespace = 'sh'::regnamespace AND c.relkind = 'm';
CREATE FUNCTION sh.differences() RETURNS TABLE (view text, n bigint) LANGUAGE plpgsql AS $$
DECLARE
  q record;
BEGIN
  FOR q IN SELECT * FROM sh.queries WHERE to_regclass('sh.' || name) IS NOT NULL ORDER BY name LOOP
    view := q.name;
    EXECUTE format('SELECT count(*) FROM ((TABLE sh.%I EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL TABLE sh.%I)) d',
                   q.name, rtrim(q.query, ';'), rtrim(q.query, ';'), q.name) INTO n;
    RETURN NEXT;
  END LOOP;
END $$;

-- which arrangements each view reads, and how many joins read each; equal
-- records and bytes of a shared one in two views: the same arrangement
CREATE FUNCTION sh.sharing() RETURNS TABLE (view text, arrangement text, records bigint,
                                            shared_by int, bytes bigint) LANGUAGE sql AS $$
  SELECT c.relname::text, a.arrangement, a.records, a.shared_by,
         CASE WHEN a.shared_by > 1 THEN a.bytes END
    FROM coordinator.arrangements a JOIN pg_class c ON c.oid = a.object
   WHERE c.relnamespace = 'sh'::regnamespace AND a.arrangement LIKE 'join%'
   ORDER BY 1, 2, 3
$$;

SELECT * FROM sh.differences();
-- created while the worker runs: each view shares once it has caught up
SELECT view, arrangement, records, shared_by FROM sh.sharing();
-- the shared customers arrangement is one: the same bytes in every view
SELECT count(DISTINCT bytes) AS distinct_sizes FROM sh.sharing() WHERE records = 50 AND shared_by > 1;

-- changes to one side, then to both in one transaction: the later views of
-- a tick find both sides already updated by the first
INSERT INTO orders SELECT i, i % 60, i % 7 FROM generate_series(2001, 2300) i;
UPDATE orders SET customer = customer + 1 WHERE id % 9 = 0;
BEGIN;
INSERT INTO customers SELECT c, 'r' || (c % 5) FROM generate_series(50, 59) c;
UPDATE orders SET amount = amount + 1 WHERE id % 4 = 0;
DELETE FROM customers WHERE id % 11 = 3;
COMMIT;
UPDATE customers SET id = id + 100 WHERE id = 5;
DELETE FROM orders WHERE id % 5 = 0;
SELECT * FROM sh.differences();

-- a view that fails (an error that is not a data error, in its join's own
-- condition) lets go of its shares; the others go on
CREATE FUNCTION sh.refuse(int) RETURNS bool LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF $1 = 666666 THEN RAISE EXCEPTION 'refused order %', $1; END IF;
  RETURN true;
END $$;
CREATE MATERIALIZED VIEW fragile WITH (incremental) AS
  SELECT c.region, sum(o.amount) AS total FROM orders o JOIN customers c
    ON o.customer = c.id AND sh.refuse(o.id) GROUP BY c.region;
SELECT count(*) FROM fragile;
SELECT view, arrangement, shared_by FROM sh.sharing() WHERE view IN ('by_region', 'fragile');
INSERT INTO orders VALUES (666666, 1, 3), (666667, 2, 4);
SELECT count(*) FROM fragile;
-- by_region current: the tick that failed fragile is published; its
-- arrangements' figures are published at the tick's end, after by_region
-- (at most 5 s)
SELECT count(*) FROM by_region;
DO $$
BEGIN
  FOR i IN 1 .. 500 LOOP
    EXIT WHEN (SELECT shared_by FROM sh.sharing()
                WHERE view = 'by_region' AND arrangement = 'join outer') = 4;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
SELECT view, arrangement, shared_by FROM sh.sharing() WHERE view = 'by_region';
SELECT * FROM sh.differences();
DROP MATERIALIZED VIEW fragile;

-- a dropped view lets go of its shares (the next tick finds it gone)
DROP MATERIALIZED VIEW big_by_region;
UPDATE orders SET amount = amount * 2 WHERE id % 3 = 0;
SELECT * FROM sh.differences();
SELECT view, arrangement, shared_by FROM sh.sharing() WHERE view = 'by_region';

-- a TRUNCATE restarts the worker: every view hydrates at one snapshot and
-- shares at once
TRUNCATE customers;
INSERT INTO customers SELECT c, 'r' || (c % 3) FROM generate_series(0, 69) c;
SELECT * FROM sh.differences();
-- (the new worker plans the views again, with the table sizes of that
-- moment: which side of a join is outer may differ, so sides are not named)
SELECT view, records, shared_by FROM sh.sharing() ORDER BY 1, 2, 3;
UPDATE orders SET customer = customer % 40 WHERE id % 2 = 0;
SELECT * FROM sh.differences();

DROP SCHEMA sh CASCADE;
