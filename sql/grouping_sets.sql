-- GROUPING SETS, ROLLUP and CUBE: each grouping set maintained as its own
-- aggregate, with GROUPING() and the NULLs of the columns a set does not
-- group by, equal to the query after random DML.
CREATE SCHEMA gs;
SET search_path = gs, public;
CREATE TABLE sales (id int, region text, product text, year int, amount numeric, qty int);
INSERT INTO sales
SELECT g, (ARRAY['north', 'south', NULL])[1 + g % 3], (ARRAY['tea', 'coffee'])[1 + g % 2],
       2024 + g % 2, (g * 7 % 50)::numeric + 0.5, g % 4
  FROM generate_series(1, 40) g;

\i sql/include/views_catalogue.sql
INSERT INTO views VALUES
  ('by_rollup', $$SELECT region, product, sum(amount) AS total, count(*) AS n, GROUPING(region, product) AS g FROM sales GROUP BY ROLLUP (region, product)$$),
  ('by_cube', $$SELECT region, year, avg(qty) AS q, GROUPING(year) AS gy FROM sales GROUP BY CUBE (region, year)$$),
  ('by_sets', $$SELECT product, year, max(amount) AS hi FROM sales GROUP BY GROUPING SETS ((product), (year), ())$$),
  ('mixed', $$SELECT region, product, year, count(*) AS n FROM sales GROUP BY region, ROLLUP (product, year)$$),
  ('having', $$SELECT region, product, sum(qty) AS q FROM sales GROUP BY ROLLUP (region, product) HAVING sum(qty) > 5$$),
  ('exprs', $$SELECT upper(region) AS r, year % 2 AS odd, count(*) AS n, sum(amount) FILTER (WHERE qty > 1) AS big FROM sales GROUP BY CUBE (upper(region), year % 2)$$),
  ('no_aggs', $$SELECT region, product FROM sales GROUP BY ROLLUP (region, product)$$),
  ('distinct_sets', $$SELECT region, year, count(*) AS n FROM sales GROUP BY DISTINCT ROLLUP (region, year), ROLLUP (year, region)$$),
  ('in_subquery', $$SELECT s.region, s.total FROM (SELECT region, product, sum(amount) AS total FROM sales GROUP BY ROLLUP (region, product)) s WHERE s.product IS NULL$$),
  ('joined', $$SELECT r.region, r.n, p.product FROM (SELECT region, count(*) AS n FROM sales GROUP BY CUBE (region)) r JOIN (SELECT DISTINCT product, region FROM sales) p ON p.region = r.region$$);

CALL create_views();

SELECT * FROM mismatches();
SELECT * FROM by_rollup ORDER BY g, region NULLS LAST, product NULLS LAST;

-- random DML, committed or rolled back, then checked
SELECT setseed(0.7);
CREATE PROCEDURE rounds(n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. n LOOP
    CASE floor(random() * 5)::int
      WHEN 0 THEN INSERT INTO sales VALUES (100 + i, (ARRAY['north', 'south', 'east', NULL])[1 + floor(random() * 4)::int],
                                           (ARRAY['tea', 'coffee'])[1 + floor(random() * 2)::int], 2024 + floor(random() * 3)::int,
                                           round((random() * 50)::numeric, 1), floor(random() * 5)::int);
      WHEN 1 THEN UPDATE sales SET region = (ARRAY['north', 'south', NULL])[1 + floor(random() * 3)::int] WHERE id = 1 + floor(random() * 40)::int;
      WHEN 2 THEN UPDATE sales SET amount = amount + 1, qty = qty + 1 WHERE year = 2024 + floor(random() * 2)::int AND random() < 0.2;
      WHEN 3 THEN DELETE FROM sales WHERE id = 1 + floor(random() * 140)::int;
      ELSE DELETE FROM sales WHERE region IS NOT DISTINCT FROM 'east';
    END CASE;
    IF random() < 0.2 THEN ROLLBACK; ELSE COMMIT; END IF;
  END LOOP;
END $$;
CALL rounds(30);
SELECT * FROM mismatches();
DELETE FROM sales;
SELECT * FROM mismatches();
SELECT * FROM by_sets ORDER BY product NULLS LAST, year NULLS LAST;

-- ORDER BY goes to the union, where it matters (ARRAY)
CREATE MATERIALIZED VIEW ordered_regions WITH (incremental) AS
  SELECT ARRAY(SELECT region FROM sales GROUP BY ROLLUP (region) ORDER BY region NULLS FIRST) AS rs;
INSERT INTO sales VALUES (1, 'west', 'tea', 2025, 1, 1), (2, 'east', 'tea', 2025, 1, 1);
SELECT * FROM ordered_regions;

-- refused: what applies to the union at the same level
\set VERBOSITY default
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT region, count(*) FROM sales GROUP BY ROLLUP (region) ORDER BY 2 DESC LIMIT 2;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT DISTINCT region FROM sales GROUP BY ROLLUP (region, product);
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT region, (SELECT count(*) FROM sales s WHERE s.region = sales.region) FROM sales GROUP BY ROLLUP (region);
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT region FROM sales GROUP BY ROLLUP (region) ORDER BY max(amount);
\set VERBOSITY terse
DROP SCHEMA gs CASCADE;
