-- Views with several window clauses of different PARTITION BY and ORDER BY.
-- The planner sorts once per ordering, and leaves a Sort out where the rows
-- already come ordered (a WindowAgg over another WindowAgg's output): each
-- window must still see its rows in its own order.  The views equal their
-- queries at creation and after seeded random DML (NULLs included).
CREATE SCHEMA win;
SET search_path = win, public;
CREATE TABLE cu (id int PRIMARY KEY, region_id int, credit_limit numeric, signup_date date);
INSERT INTO cu SELECT i, CASE WHEN i % 11 = 0 THEN NULL ELSE i % 5 END,
       CASE WHEN i % 13 = 0 THEN NULL ELSE i * 10 END,
       CASE WHEN i % 17 = 0 THEN NULL ELSE date '2024-01-01' + (i % 40) END
  FROM generate_series(1, 300) i;

-- each view with its query, to compare them
CREATE TABLE queries (name text PRIMARY KEY, query text);
INSERT INTO queries VALUES
('w1', $$SELECT id, region_id,
       sum(credit_limit) OVER (PARTITION BY region_id ORDER BY id) AS running_credit,
       rank() OVER (PARTITION BY region_id ORDER BY signup_date) AS signup_rank,
       lag(id) OVER (PARTITION BY region_id ORDER BY signup_date, id) AS prev_signup
  FROM cu$$),
('w2', $$SELECT id,
       row_number() OVER (PARTITION BY signup_date ORDER BY credit_limit DESC NULLS LAST, id) AS rn,
       dense_rank() OVER (PARTITION BY region_id ORDER BY credit_limit NULLS FIRST) AS dr,
       count(*) OVER (ORDER BY signup_date NULLS FIRST, id) AS running_count,
       first_value(id) OVER (PARTITION BY region_id, signup_date ORDER BY id DESC) AS last_id
  FROM cu$$),
('w3', $$SELECT id, region_id,
       lead(credit_limit, 2) OVER (PARTITION BY region_id ORDER BY signup_date DESC, id) AS lead2,
       sum(id) OVER (PARTITION BY region_id ORDER BY signup_date, id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS around,
       max(credit_limit) OVER (PARTITION BY region_id) AS region_max,
       ntile(3) OVER (ORDER BY id) AS third,
       percent_rank() OVER (PARTITION BY region_id ORDER BY signup_date, credit_limit) AS pr
  FROM cu WHERE id % 7 <> 0$$),
('w4', $$SELECT region_id, signup_date, n,
       rank() OVER (PARTITION BY region_id ORDER BY n DESC) AS by_count,
       row_number() OVER (ORDER BY signup_date NULLS FIRST, region_id NULLS FIRST) AS rn
  FROM (SELECT region_id, signup_date, count(*) AS n FROM cu GROUP BY region_id, signup_date) g$$),
('w5', $$SELECT region_id, sum(credit_limit) AS total,
       rank() OVER (ORDER BY region_id DESC NULLS LAST) AS r,
       lag(sum(credit_limit)) OVER (ORDER BY region_id NULLS FIRST) AS prev_total
  FROM cu GROUP BY region_id$$);

CREATE FUNCTION differences(v text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  q text := (SELECT query FROM queries WHERE name = v);
  extra bigint;
  missing bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM (TABLE %I EXCEPT ALL %s) d', v, q) INTO extra;
  EXECUTE format('SELECT count(*) FROM (%s EXCEPT ALL TABLE %I) d', q, v) INTO missing;
  RETURN format('%s rows, %s extra, %s missing',
                (SELECT count(*) FROM cu), extra, missing);
END $$;

-- w4 and w5 group with a sorted Agg (hash aggregation off)
SET enable_hashagg = off;
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM queries ORDER BY name LOOP
    EXECUTE format('CREATE MATERIALIZED VIEW %I WITH (incremental) AS %s', r.name, r.query);
  END LOOP;
END $$;

-- w1 and w3 have fewer sorts than windows: a WindowAgg reads another's output
-- in the order it comes
CREATE FUNCTION nodes(plan text, tag text) RETURNS int LANGUAGE sql AS
  $$SELECT (length(plan) - length(replace(plan, '{' || tag || ' ', ''))) / (length(tag) + 2)$$;
SELECT q.name, nodes(o.plan, 'WINDOWAGG') AS windows,
       nodes(o.plan, 'SORT') + nodes(o.plan, 'INCREMENTALSORT') AS sorts,
       nodes(o.plan, 'AGG') AS aggs
  FROM queries q JOIN coordinator.objects o ON o.name = q.name::regclass ORDER BY q.name;

SELECT name, differences(name) FROM queries ORDER BY name;
SELECT * FROM w1 WHERE id IN (1, 2, 11) ORDER BY id;

CREATE PROCEDURE churn(n int) LANGUAGE plpgsql AS $$
DECLARE
  op float8;
  target int;
BEGIN
  PERFORM setseed(0.17);
  FOR i IN 1..n LOOP
    op := random();
    target := 1 + floor(random() * 330)::int;
    IF op < 0.35 THEN
      INSERT INTO cu VALUES (target,
        CASE WHEN random() < 0.1 THEN NULL ELSE floor(random() * 6)::int END,
        CASE WHEN random() < 0.1 THEN NULL ELSE floor(random() * 4000) END,
        CASE WHEN random() < 0.1 THEN NULL ELSE date '2024-01-01' + floor(random() * 45)::int END)
      ON CONFLICT (id) DO NOTHING;
    ELSIF op < 0.55 THEN
      UPDATE cu SET credit_limit = CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 4000) END
       WHERE id = target;
    ELSIF op < 0.75 THEN
      UPDATE cu SET region_id = CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 6)::int END,
                    signup_date = CASE WHEN random() < 0.2 THEN NULL
                                       ELSE date '2024-01-01' + floor(random() * 45)::int END
       WHERE id = target;
    ELSE
      DELETE FROM cu WHERE id = target;
    END IF;
    IF i % 3 = 0 THEN
      COMMIT;
    END IF;
  END LOOP;
  COMMIT;
END $$;

CALL churn(600);
SELECT name, differences(name) FROM queries ORDER BY name;

-- a transaction that changes many rows of every partition at once
UPDATE cu SET signup_date = signup_date + (id % 3), credit_limit = credit_limit + 1
 WHERE id % 2 = 0;
DELETE FROM cu WHERE id % 9 = 0;
SELECT name, differences(name) FROM queries ORDER BY name;

DROP SCHEMA win CASCADE;
