-- LATERAL subqueries over tables, correlated by equalities in their WHERE,
-- become joins: top-k per outer row (ORDER BY ... LIMIT, OFFSET), LEFT
-- JOIN LATERAL, several keys; equal to their queries after random DML.
CREATE SCHEMA lat;
SET search_path = lat, public;
CREATE TABLE groups (id int, k int, k2 text);
CREATE TABLE items (k int, k2 text, v int, s text);
INSERT INTO groups VALUES (1, 1, 'a'), (2, 2, 'b'), (3, NULL, 'a'), (4, 1, 'b'), (5, 9, NULL);
INSERT INTO items SELECT i % 3, (ARRAY['a', 'b'])[1 + i % 2], i, 's' || i FROM generate_series(1, 30) i;

\i sql/include/views_catalogue.sql
INSERT INTO views VALUES
  ('top2', $$SELECT g.id, x.v FROM groups g, LATERAL (SELECT v FROM items i WHERE i.k = g.k ORDER BY v DESC LIMIT 2) x$$),
  ('top2_left', $$SELECT g.id, x.v, x.s FROM groups g LEFT JOIN LATERAL (SELECT v, s FROM items i WHERE i.k = g.k AND v > 3 ORDER BY v, s LIMIT 2 OFFSET 1) x ON true$$),
  ('two_keys', $$SELECT g.id, x.s FROM groups g CROSS JOIN LATERAL (SELECT s FROM items i WHERE i.k = g.k AND i.k2 = g.k2 ORDER BY v, s LIMIT 1) x$$),
  ('no_limit', $$SELECT g.id, x.v FROM groups g JOIN LATERAL (SELECT v FROM items i WHERE g.k = i.k AND v % 5 = 0) x ON x.v > g.id$$),
  ('offset_only', $$SELECT g.id, x.v FROM groups g, LATERAL (SELECT v FROM items i WHERE i.k = g.k ORDER BY v OFFSET 8) x$$),
  ('under_agg', $$SELECT g.k2, count(*) AS n, sum(x.v) AS total FROM groups g, LATERAL (SELECT v FROM items i WHERE i.k = g.k ORDER BY v DESC LIMIT 3) x GROUP BY g.k2$$);

CALL create_views();

SELECT * FROM mismatches();
SELECT * FROM top2 ORDER BY id, v;
SELECT * FROM top2_left ORDER BY id, v;

-- random DML: the top rows of a key deleted and replaced, keys of outer
-- rows changed, committed or rolled back
SELECT setseed(0.3);
CREATE PROCEDURE rounds(n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR r IN 1 .. n LOOP
    CASE floor(random() * 6)::int
      WHEN 0 THEN INSERT INTO items VALUES (floor(random() * 4)::int, (ARRAY['a', 'b'])[1 + floor(random() * 2)::int],
                                           100 + r, 'n' || r);
      WHEN 1 THEN DELETE FROM items WHERE v = (SELECT max(v) FROM items WHERE k = floor(random() * 3)::int);
      WHEN 2 THEN UPDATE items SET v = floor(random() * 200)::int WHERE s = 's' || (1 + floor(random() * 30)::int);
      WHEN 3 THEN UPDATE groups SET k = (ARRAY[0, 1, 2, NULL])[1 + floor(random() * 4)::int] WHERE id = 1 + floor(random() * 5)::int;
      WHEN 4 THEN INSERT INTO groups VALUES (10 + r, floor(random() * 3)::int, 'a');
      ELSE UPDATE items SET k = floor(random() * 3)::int WHERE v % 7 = floor(random() * 7)::int;
    END CASE;
    IF random() < 0.2 THEN ROLLBACK; ELSE COMMIT; END IF;
  END LOOP;
END $$;
CALL rounds(40);
SELECT * FROM mismatches();

-- refused: correlated otherwise than by equalities in its WHERE, with an
-- aggregate, with a LIMIT that reads the outer row
\set VERBOSITY default
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT g.id, x.v FROM groups g, LATERAL (SELECT v FROM items i WHERE i.v > g.id ORDER BY v LIMIT 1) x;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT g.id, x.n FROM groups g, LATERAL (SELECT count(*) AS n FROM items i WHERE i.k = g.k) x;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT g.id, x.v FROM groups g, LATERAL (SELECT v FROM items i WHERE i.k = g.k ORDER BY v LIMIT g.id) x;
-- correlated with a table outside the join whose right side it is
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT g.id, x.v FROM groups g, items i2 JOIN LATERAL (SELECT v FROM items i WHERE i.k = g.k ORDER BY v LIMIT 1) x ON true;
\set VERBOSITY terse
DROP SCHEMA lat CASCADE;
