-- Windows recomputed by row at the edges of their frames: errors that a
-- row read only as context, or an offset added where the query subtracts
-- it, would raise but the query does not (the partition is then computed
-- whole, and its answer is the query's), and errors that are the query's
-- (a data error of the view until the rows that raise it go).
CREATE SCHEMA wf;
SET search_path = wf, public;
SET client_min_messages = warning;
CREATE TABLE t (id int PRIMARY KEY, g int, ts timestamp, x float8, v int);
INSERT INTO t SELECT i, i % 2, timestamp '2026-01-01' + i * interval '5 hours', i, i % 7
  FROM generate_series(1, 40) i;

CREATE FUNCTION same(view text, query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT (SELECT count(*) FROM (TABLE %s EXCEPT ALL %s) a) + (SELECT count(*) FROM (%s EXCEPT ALL TABLE %s) b)',
                 view, query, query, view) INTO n;
  RETURN n;
END $$;

-- a day back from each row, over timestamps up to the end of their range
CREATE MATERIALIZED VIEW day_back WITH (incremental) AS
  SELECT id, g, count(*) OVER w AS c, sum(v) OVER w AS s
  FROM t WINDOW w AS (PARTITION BY g ORDER BY ts RANGE BETWEEN interval '1 day' PRECEDING AND CURRENT ROW);
SELECT line FROM coordinator.explain_dataflow('day_back') AS line WHERE line LIKE '%Per change%';
SELECT same('day_back', $$SELECT id, g, count(*) OVER w, sum(v) OVER w FROM t WINDOW w AS (PARTITION BY g ORDER BY ts RANGE BETWEEN interval '1 day' PRECEDING AND CURRENT ROW)$$);
-- a day after the last timestamp is out of range: the query never adds it
INSERT INTO t VALUES (100, 0, timestamp '294276-12-31 12:00', 1, 3), (101, 0, timestamp '294276-12-31 20:00', 2, 4);
UPDATE t SET v = v + 1 WHERE id IN (100, 101);
SELECT id, c, s FROM day_back WHERE id >= 100 ORDER BY id;
SELECT same('day_back', $$SELECT id, g, count(*) OVER w, sum(v) OVER w FROM t WINDOW w AS (PARTITION BY g ORDER BY ts RANGE BETWEEN interval '1 day' PRECEDING AND CURRENT ROW)$$);
DELETE FROM t WHERE id >= 100;

-- float sums over a ROWS frame: recomputed by row; an overflow is the
-- query's error, and goes with the row
CREATE MATERIALIZED VIEW float_frame WITH (incremental) AS
  SELECT id, g, sum(x) OVER w AS s, max(x) OVER w AS mx
  FROM t WINDOW w AS (PARTITION BY g ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW);
SELECT line FROM coordinator.explain_dataflow('float_frame') AS line WHERE line LIKE '%Per change%';
UPDATE t SET x = 1e308 WHERE id IN (20, 22);
SELECT count(*) FROM float_frame;
UPDATE t SET x = -1e308 WHERE id = 22;
SELECT id, s, mx FROM float_frame WHERE id IN (20, 22, 24) ORDER BY id;
SELECT same('float_frame', $$SELECT id, g, sum(x) OVER w, max(x) OVER w FROM t WINDOW w AS (PARTITION BY g ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)$$);

-- a negative offset: every row of the view's partitions raises it
CREATE TABLE u (id int, k int);
CREATE MATERIALIZED VIEW negative WITH (incremental) AS
  SELECT id, count(*) OVER (ORDER BY k RANGE BETWEEN -1 PRECEDING AND CURRENT ROW) AS c FROM u;
INSERT INTO u VALUES (1, 1), (2, 5);
SELECT * FROM negative;
DELETE FROM u;
SELECT * FROM negative;

-- GROUPS and RANGE frames with lag, after many changes in one transaction
CREATE MATERIALIZED VIEW mixed WITH (incremental) AS
  SELECT id, g, lag(id, 2) OVER w AS p2, count(*) OVER w AS c, max(id) OVER w AS mx
  FROM t WINDOW w AS (PARTITION BY g ORDER BY v, id GROUPS BETWEEN 2 PRECEDING AND 1 FOLLOWING);
BEGIN;
UPDATE t SET v = (v * 3) % 7 WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
INSERT INTO t SELECT i, i % 2, timestamp '2026-01-01' + i * interval '3 hours', i, i % 4 FROM generate_series(41, 60) i;
COMMIT;
SELECT same('mixed', $$SELECT id, g, lag(id, 2) OVER w, count(*) OVER w, max(id) OVER w FROM t WINDOW w AS (PARTITION BY g ORDER BY v, id GROUPS BETWEEN 2 PRECEDING AND 1 FOLLOWING)$$);
SELECT same('day_back', $$SELECT id, g, count(*) OVER w, sum(v) OVER w FROM t WINDOW w AS (PARTITION BY g ORDER BY ts RANGE BETWEEN interval '1 day' PRECEDING AND CURRENT ROW)$$);

-- RANGE offsets over values at the ends of their types: NaN and infinite
-- floats and numerics, infinite timestamps, NULLs, and an interval with
-- months; each view equal to its query after every change
CREATE TABLE e (id int PRIMARY KEY, f float8, n numeric, ts timestamptz);
INSERT INTO e VALUES (1, 0, 0, '2026-01-31'), (2, 1.5, 1.5, '2026-02-28'), (3, 'NaN', 'NaN', 'infinity'),
  (4, 'Infinity', 'Infinity', '-infinity'), (5, '-Infinity', '-Infinity', NULL), (6, NULL, NULL, '2026-03-31'),
  (7, 2, 2, '2026-04-30'), (8, -1e308, -1e300, '2025-12-31');
CREATE MATERIALIZED VIEW ends_f WITH (incremental) AS
  SELECT id, count(*) OVER (ORDER BY f RANGE BETWEEN 1 PRECEDING AND 1.5 FOLLOWING) AS c FROM e;
CREATE MATERIALIZED VIEW ends_n WITH (incremental) AS
  SELECT id, sum(id) OVER (ORDER BY n DESC NULLS FIRST RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) AS s FROM e;
CREATE MATERIALIZED VIEW ends_ts WITH (incremental) AS
  SELECT id, count(*) OVER (ORDER BY ts RANGE BETWEEN interval '1 month' PRECEDING AND interval '1 month' FOLLOWING) AS c FROM e;
CREATE TABLE end_queries (name text, query text);
INSERT INTO end_queries VALUES
  ('ends_f', $$SELECT id, count(*) OVER (ORDER BY f RANGE BETWEEN 1 PRECEDING AND 1.5 FOLLOWING) FROM e$$),
  ('ends_n', $$SELECT id, sum(id) OVER (ORDER BY n DESC NULLS FIRST RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) FROM e$$),
  ('ends_ts', $$SELECT id, count(*) OVER (ORDER BY ts RANGE BETWEEN interval '1 month' PRECEDING AND interval '1 month' FOLLOWING) FROM e$$);
SELECT name, same(name, query) FROM end_queries ORDER BY name;
INSERT INTO e VALUES (9, 'NaN', 'NaN', 'infinity'), (10, 'Infinity', 'Infinity', '2026-03-01'), (11, 0.5, 0.5, '2026-02-01');
UPDATE e SET f = 'NaN', n = 'NaN', ts = '-infinity' WHERE id = 1;
DELETE FROM e WHERE id = 4;
UPDATE e SET f = NULL, n = NULL, ts = NULL WHERE id = 7;
SELECT name, same(name, query) FROM end_queries ORDER BY name;
SELECT id, c FROM ends_f ORDER BY id;

-- the rows whose frames hold a change are found as the executor finds a
-- frame, from the frame's own row: a month back from March 31 is February
-- 28, though a month on from February 28 is March 28; and 7.61 - 1.1 is
-- 6.51, though 6.51 + 1.1 is less than 7.61
CREATE TABLE m (id int, ts timestamp, x float8);
INSERT INTO m VALUES (1, '2026-02-28 01:00', 6.52), (2, '2026-03-31 00:00', 7.61);
CREATE MATERIALIZED VIEW month_back WITH (incremental) AS
  SELECT id, count(*) OVER (ORDER BY ts RANGE BETWEEN interval '1 month' PRECEDING AND CURRENT ROW) AS c FROM m;
CREATE MATERIALIZED VIEW float_back WITH (incremental) AS
  SELECT id, count(*) OVER (ORDER BY x RANGE BETWEEN 1.1 PRECEDING AND CURRENT ROW) AS c FROM m;
SELECT m1.id, m1.c, f.c FROM month_back m1 JOIN float_back f USING (id) ORDER BY id;
INSERT INTO m VALUES (3, '2026-02-28 00:00', 6.51);
SELECT * FROM month_back ORDER BY id;
SELECT * FROM float_back ORDER BY id;
SELECT same('month_back', $$SELECT id, count(*) OVER (ORDER BY ts RANGE BETWEEN interval '1 month' PRECEDING AND CURRENT ROW) FROM m$$),
       same('float_back', $$SELECT id, count(*) OVER (ORDER BY x RANGE BETWEEN 1.1 PRECEDING AND CURRENT ROW) FROM m$$);
DELETE FROM m WHERE id = 3;
SELECT same('month_back', $$SELECT id, count(*) OVER (ORDER BY ts RANGE BETWEEN interval '1 month' PRECEDING AND CURRENT ROW) FROM m$$),
       same('float_back', $$SELECT id, count(*) OVER (ORDER BY x RANGE BETWEEN 1.1 PRECEDING AND CURRENT ROW) FROM m$$);

RESET client_min_messages;
DROP SCHEMA wf CASCADE;
