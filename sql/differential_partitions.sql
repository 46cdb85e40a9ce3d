-- Differential test over partitioned tables: seeded random DML, with
-- partition-key updates that move rows between partitions at two levels,
-- DEFAULT partitions, hash partitions, and partitions detached, attached
-- again with the rows they gained meanwhile, truncated, created and
-- dropped in the rounds; after every round each view must equal
-- Postgres's own answer to its query (EXCEPT ALL both ways empty).
--
--   COORDINATOR_DIFF_ROUNDS (default 25), COORDINATOR_DIFF_SEED (0.42).
\set rounds 25
\set seed 0.42
\getenv rounds COORDINATOR_DIFF_ROUNDS
\getenv seed COORDINATOR_DIFF_SEED
CREATE SCHEMA dp;
SET search_path = dp, public;
SET client_min_messages = warning;
SELECT setseed(:seed) \gset

-- orders by region; Europe again by day; DEFAULT partitions at both
-- levels; 'ap' attached with its columns in another order; 'xx' is
-- detached and attached in the rounds
CREATE TABLE orders (id int, region text, day date, amount numeric, qty int)
  PARTITION BY LIST (region);
CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu')
  PARTITION BY RANGE (day);
CREATE TABLE orders_eu_2025 PARTITION OF orders_eu
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE orders_eu_other PARTITION OF orders_eu DEFAULT;
CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us');
CREATE TABLE orders_xx PARTITION OF orders FOR VALUES IN ('xx');
CREATE TABLE orders_other PARTITION OF orders DEFAULT;
CREATE TABLE orders_ap (qty int, amount numeric, day date, region text, id int);
ALTER TABLE orders ATTACH PARTITION orders_ap FOR VALUES IN ('ap');
-- order lines, hash-partitioned by order
CREATE TABLE items (id int, order_id int, sku text, price int)
  PARTITION BY HASH (order_id);
CREATE TABLE items_0 PARTITION OF items FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE items_1 PARTITION OF items FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE items_2 PARTITION OF items FOR VALUES WITH (MODULUS 3, REMAINDER 2);
-- a plain table
CREATE TABLE regions (region text, name text);

CREATE FUNCTION rnd(lo int, hi int, nulls float8 DEFAULT 0.1) RETURNS int
  LANGUAGE sql AS $$ SELECT CASE WHEN random() < nulls THEN NULL
                            ELSE lo + floor(random() * (hi - lo + 1))::int END $$;
CREATE FUNCTION rnd_region() RETURNS text
  LANGUAGE sql AS $$ SELECT (ARRAY['eu', 'eu', 'us', 'ap', 'xx', 'zz', NULL])[1 + floor(random() * 7)::int] $$;
CREATE FUNCTION rnd_day() RETURNS date
  LANGUAGE sql AS $$ SELECT date '2024-06-01' + floor(random() * 730)::int $$;
CREATE FUNCTION rnd_orders(n int) RETURNS TABLE (id int, region text, day date, amount numeric, qty int)
  LANGUAGE sql AS $$ SELECT rnd(1, 50, 0), rnd_region(), rnd_day(),
                            round((random() * 100)::numeric, floor(random() * 3)::int), rnd(1, 5)
                       FROM generate_series(1, n) $$;

INSERT INTO orders SELECT * FROM rnd_orders(80);
INSERT INTO items SELECT rnd(1, 100, 0), rnd(1, 50, 0),
                         (ARRAY['a', 'b', 'c', NULL])[1 + floor(random() * 4)::int], rnd(1, 90)
                    FROM generate_series(1, 60);
INSERT INTO regions VALUES ('eu', 'Europe'), ('us', 'Americas'), ('ap', 'Asia'),
                           ('xx', 'Elsewhere'), ('eu', 'Europe again'), ('mars', 'Mars');

\i sql/include/views_catalogue.sql
INSERT INTO views VALUES
-- scans, filters, pruning to some partitions
('p01', $$SELECT id, region, day, amount, qty FROM orders$$),
('p02', $$SELECT id, amount FROM orders WHERE region = 'eu'$$),
('p03', $$SELECT id, day FROM orders WHERE region IN ('us', 'xx') AND qty > 1$$),
('p04', $$SELECT id, region FROM orders WHERE day >= '2025-06-01' AND amount > 20$$),
('p05', $$SELECT * FROM orders_eu$$),
('p06', $$SELECT id, qty FROM orders_us$$),
('p07', $$SELECT id, amount FROM orders WHERE region = 'xx'$$),
-- aggregates kept as states, global and grouped
('p08', $$SELECT region, count(*) AS n, sum(amount) AS total, sum(qty) AS q FROM orders GROUP BY region$$),
('p09', $$SELECT count(*) AS n, sum(qty) AS q, avg(amount) AS a FROM orders$$),
('p10', $$SELECT region, min(amount) AS lo, max(amount) AS hi, min(day) AS first FROM orders GROUP BY region$$),
('p11', $$SELECT count(DISTINCT region) AS regions, count(DISTINCT qty) AS qtys FROM orders$$),
('p12', $$SELECT day, sum(qty) AS q FROM orders WHERE region = 'eu' GROUP BY day$$),
('p13', $$SELECT region, sum(amount) FILTER (WHERE qty > 2) AS big, count(*) FILTER (WHERE amount IS NULL) AS nulls FROM orders GROUP BY region$$),
('p14', $$SELECT region, day, avg(amount) AS a FROM orders GROUP BY region, day HAVING count(*) > 1$$),
('p15', $$SELECT stddev(amount) AS sd, variance(qty) AS vq FROM orders$$),
('p16', $$SELECT sku, count(*) AS n, sum(price) AS s, max(price) AS m FROM items GROUP BY sku$$),
-- joins between partitioned tables, with plain tables, between partitions
('p17', $$SELECT o.id, o.region, r.name FROM orders o JOIN regions r ON r.region = o.region$$),
('p18', $$SELECT o.id, i.sku, i.price FROM orders o JOIN items i ON i.order_id = o.id$$),
('p19', $$SELECT o.region, sum(i.price * o.qty) AS value FROM orders o JOIN items i ON i.order_id = o.id GROUP BY o.region$$),
('p20', $$SELECT r.region, count(o.id) AS n FROM regions r LEFT JOIN orders o ON o.region = r.region GROUP BY r.region$$),
('p21', $$SELECT o.id, i.id AS item FROM orders o FULL JOIN items i ON i.order_id = o.id AND i.price > 50$$),
('p22', $$SELECT a.id, b.id AS other FROM orders_eu a JOIN orders_us b ON a.qty = b.qty$$),
-- semi- and anti-joins, subqueries
('p23', $$SELECT id FROM orders WHERE NOT EXISTS (SELECT 1 FROM items WHERE items.order_id = orders.id)$$),
('p24', $$SELECT region, count(*) AS n FROM orders WHERE id IN (SELECT order_id FROM items WHERE price > 20) GROUP BY region$$),
('p25', $$SELECT o.id, (SELECT count(*) FROM items i WHERE i.order_id = o.id) AS lines FROM orders o$$),
('p26', $$SELECT id, amount FROM orders WHERE amount > (SELECT avg(price) FROM items)$$),
-- DISTINCT, set operations
('p27', $$SELECT DISTINCT region, qty FROM orders$$),
('p28', $$SELECT id, region FROM orders UNION SELECT order_id, sku FROM items$$),
('p29', $$SELECT id FROM orders INTERSECT SELECT order_id FROM items$$),
('p30', $$SELECT id FROM orders EXCEPT ALL SELECT order_id FROM items$$),
-- top-k, DISTINCT ON, windows
('p31', $$SELECT id, amount FROM orders ORDER BY amount DESC NULLS LAST, id, day, qty, region LIMIT 5$$),
('p32', $$SELECT DISTINCT ON (region) region, id, amount FROM orders ORDER BY region, amount DESC NULLS LAST, id, day, qty$$),
('p33', $$SELECT region, id, row_number() OVER (PARTITION BY region ORDER BY day, id, amount, qty) AS rn FROM orders$$),
-- CTEs, a partition of a hash-partitioned table
('p34', $$WITH big AS (SELECT * FROM orders WHERE amount > 50) SELECT region, count(*) AS n FROM big GROUP BY region$$),
('p35', $$SELECT sku, max(price) AS m FROM items_1 GROUP BY sku$$),
-- grouping sets over partitioned tables
('p36', $$SELECT region, qty, sum(amount) AS total, count(*) AS n, GROUPING(region, qty) AS g FROM orders GROUP BY ROLLUP (region, qty)$$),
('p37', $$SELECT o.region, i.sku, count(*) AS n, max(i.price) AS hi FROM orders o JOIN items i ON i.order_id = o.id GROUP BY CUBE (o.region, i.sku)$$);

CALL create_views();
SELECT count(*) >= 30 AS catalogue_of_30 FROM views;

INSERT INTO failures SELECT 0, * FROM mismatches();

-- 'xx' detached (its rows leave; rows for 'xx' then go to the DEFAULT
-- partition) or attached again (the DEFAULT partition's 'xx' rows move
-- into it first, as ATTACH requires)
CREATE PROCEDURE toggle_xx() LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = 'dp.orders_xx'::regclass) THEN
    ALTER TABLE orders DETACH PARTITION orders_xx;
  ELSE
    WITH moved AS (DELETE FROM orders_other WHERE region = 'xx' RETURNING *)
    INSERT INTO orders_xx SELECT id, region, day, amount, qty FROM moved;
    ALTER TABLE orders ATTACH PARTITION orders_xx FOR VALUES IN ('xx');
  END IF;
END $$;

CREATE PROCEDURE random_statement() LANGUAGE plpgsql AS $$
DECLARE c int := floor(random() * 40)::int;
BEGIN
  CASE
    WHEN c < 6 THEN INSERT INTO orders SELECT * FROM rnd_orders(1 + floor(random() * 3)::int);
    WHEN c < 10 THEN UPDATE orders SET region = rnd_region() WHERE id = rnd(1, 50, 0);   -- moves partitions
    WHEN c < 13 THEN UPDATE orders SET day = rnd_day() WHERE id = rnd(1, 50, 0);         -- moves sub-partitions
    WHEN c < 16 THEN UPDATE orders SET amount = round((random() * 100)::numeric, 1), qty = rnd(1, 5)
                       WHERE id = rnd(1, 50, 0);
    WHEN c < 18 THEN UPDATE orders SET id = rnd(1, 50, 0), region = rnd_region() WHERE id = rnd(1, 50, 0);
    WHEN c < 21 THEN DELETE FROM orders WHERE id = rnd(1, 50, 0);
    WHEN c < 23 THEN DELETE FROM orders WHERE amount = (SELECT max(amount) FROM orders);  -- the extreme
    WHEN c < 26 THEN INSERT INTO items SELECT rnd(1, 100, 0), rnd(1, 50, 0),
                                             (ARRAY['a', 'b', 'c', NULL])[1 + floor(random() * 4)::int], rnd(1, 90)
                                        FROM generate_series(1, 1 + floor(random() * 3)::int);
    WHEN c < 28 THEN UPDATE items SET order_id = rnd(1, 50, 0) WHERE id = rnd(1, 100, 0);  -- moves hash partitions
    WHEN c < 30 THEN UPDATE items SET price = rnd(1, 90) WHERE order_id = rnd(1, 50, 0);
    WHEN c < 32 THEN DELETE FROM items WHERE id = rnd(1, 100, 0);
    WHEN c < 33 THEN UPDATE regions SET region = rnd_region() WHERE name = (ARRAY['Europe', 'Asia', 'Mars'])[1 + floor(random() * 3)::int];
    WHEN c < 34 THEN INSERT INTO orders_xx SELECT id, 'xx', day, amount, qty FROM rnd_orders(1); -- attached or not
    WHEN c < 35 THEN CALL toggle_xx();
    WHEN c < 36 THEN TRUNCATE orders_us;
    WHEN c < 37 THEN DELETE FROM orders_eu_other WHERE random() < 0.5;
    ELSE UPDATE orders SET qty = qty + 1 WHERE region = rnd_region();
  END CASE;
END $$;

CALL run_rounds(:rounds, 1);

-- partitions created and dropped between rounds: a new range under the
-- partitioned partition (the DEFAULT partition's rows of that range move
-- into it, as CREATE requires), a partition dropped
BEGIN;
CREATE TEMP TABLE moved (LIKE orders);
WITH m AS (DELETE FROM orders_eu_other WHERE day >= '2026-01-01' AND day < '2026-02-01'
           RETURNING id, region, day, amount, qty)
INSERT INTO moved SELECT * FROM m;
CREATE TABLE orders_eu_2026 PARTITION OF orders_eu FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
INSERT INTO orders SELECT * FROM moved;
COMMIT;
DROP TABLE orders_ap;
INSERT INTO failures SELECT 100, * FROM mismatches();
CALL run_rounds(:rounds, 101);

-- every partition logs full old rows
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'dp'::regnamespace AND c.relkind = 'r' AND c.relispartition
   AND c.relreplident <> 'f';
SELECT * FROM failures ORDER BY round, name;
-- which partitions remain depends on the rounds: drop them quietly
DROP SCHEMA dp CASCADE;
RESET client_min_messages;
