-- Differential test of window functions that a change recomputes only near
-- itself (lag, lead, and first_value, last_value, nth_value and aggregates
-- over ROWS frames of constant offsets, or over RANGE and GROUPS frames with
-- offsets: the rows whose frames hold it), those it recomputes from itself on
-- (row_number, rank, dense_rank, running counts, sums and averages, first_value;
-- with lag, lead or a bounded ROWS frame beside them:
-- src/dataflow/window.c), beside those recomputed by partition: seeded random DML (rows inserted,
-- deleted, duplicated, moved within and across partitions, NULLs),
-- committed or rolled back; after every round each view must equal
-- Postgres's own answer to its query.  Orders are total (ties broken by
-- every column, and by a window's result in a window above it), so that
-- the query's answer is determined.
--
--   COORDINATOR_DIFF_ROUNDS (default 25), COORDINATOR_DIFF_SEED (0.42).
\set rounds 25
\set seed 0.42
\getenv rounds COORDINATOR_DIFF_ROUNDS
\getenv seed COORDINATOR_DIFF_SEED
CREATE SCHEMA dfw;
SET search_path = dfw, public;
SET client_min_messages = warning;
SELECT setseed(:seed) \gset

CREATE TABLE s (id int, g int, v int, n numeric);
CREATE FUNCTION rnd(lo int, hi int, nulls float8 DEFAULT 0.1) RETURNS int
  LANGUAGE sql AS $$ SELECT CASE WHEN random() < nulls THEN NULL
                            ELSE lo + floor(random() * (hi - lo + 1))::int END $$;
INSERT INTO s SELECT rnd(1, 60, 0), rnd(0, 3, 0), rnd(-10, 50), round((random() * 20)::numeric, rnd(0, 2, 0))
  FROM generate_series(1, 80);

\i sql/include/views_catalogue.sql
INSERT INTO views VALUES
('w01', $$SELECT id, g, v, lag(v) OVER (PARTITION BY g ORDER BY id, v, n) AS prev FROM s$$),
('w02', $$SELECT id, g, v, lead(v, 2, -1) OVER (PARTITION BY g ORDER BY id, v, n) AS next2 FROM s$$),
('w03', $$SELECT id, g, lag(v, 3) OVER w AS p3, lead(n) OVER w AS n1, lag(id, -2) OVER w AS f2 FROM s WINDOW w AS (PARTITION BY g ORDER BY id DESC, v NULLS FIRST, n)$$),
('w04', $$SELECT id, g, sum(v) OVER (PARTITION BY g ORDER BY id, v, n ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING) AS s4 FROM s$$),
('w05', $$SELECT id, g, first_value(v) OVER w AS fv, last_value(v) OVER w AS lv, count(*) OVER w AS c, count(v) OVER w AS cv FROM s WINDOW w AS (PARTITION BY g ORDER BY id, v, n ROWS BETWEEN 1 PRECEDING AND 2 FOLLOWING)$$),
('w06', $$SELECT id, g, min(v) OVER w AS lo, max(n) OVER w AS hi FROM s WINDOW w AS (PARTITION BY g ORDER BY id, v, n ROWS BETWEEN 3 PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW)$$),
('w07', $$SELECT id, g, nth_value(v, 2) OVER (PARTITION BY g ORDER BY id, v, n ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING) AS second FROM s$$),
('w08', $$SELECT id, v, lag(v) OVER w AS prev, avg(n) OVER w AS a4 FROM s WINDOW w AS (ORDER BY id, v, g, n ROWS BETWEEN CURRENT ROW AND 3 FOLLOWING)$$),
-- a local window and a partition-wide one over different partitions, the
-- second ordered by the first's result too (rows may be equal but for it)
('w09', $$SELECT id, g, prev, row_number() OVER (PARTITION BY v % 3 ORDER BY id, g, v, n, prev) AS rn FROM (SELECT id, g, v, n, lag(v) OVER (PARTITION BY g ORDER BY id, v, n) AS prev FROM s) x$$),
-- over an aggregate, and filtered above
('w10', $$SELECT g, d, total, lag(total) OVER (PARTITION BY g ORDER BY d) AS prev FROM (SELECT g, id % 7 AS d, sum(v) AS total FROM s GROUP BY g, id % 7) x$$),
('w11', $$SELECT * FROM (SELECT id, g, v, lag(v) OVER (PARTITION BY g ORDER BY id, v, n) AS prev FROM s) x WHERE v > prev$$),
-- values that follow from the rows before: re-run from the first change's
-- peers on, completed by the row before (ties in rank, dense_rank and
-- RANGE frames are peers, so those need no total order)
('w13', $$SELECT id, g, row_number() OVER (PARTITION BY g ORDER BY id, v, n) AS rn FROM s$$),
('w14', $$SELECT id, g, v, rank() OVER w AS r, dense_rank() OVER w AS dr, count(*) OVER w AS c, sum(v) OVER w AS sv, sum(n) OVER w AS sn FROM s WINDOW w AS (PARTITION BY g ORDER BY v)$$),
('w15', $$SELECT id, g, row_number() OVER w AS rn, first_value(id) OVER w AS fid, count(v) OVER w AS cv, sum(v::bigint) OVER w AS s8 FROM s WINDOW w AS (PARTITION BY g ORDER BY v NULLS FIRST, id, n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)$$),
('w16', $$SELECT id, v, rank() OVER (ORDER BY v DESC) AS r, sum(v) OVER (ORDER BY v DESC) AS running FROM s$$),
('w18', $$SELECT id, g, v, min(v) OVER w AS lo, max(n) OVER w AS hi, last_value(id) OVER w AS lid, first_value(n) OVER w AS fn FROM s WINDOW w AS (PARTITION BY g ORDER BY v, id, n)$$),
-- many peers: a change inside a peer group moves the ranks after the group
('w17', $$SELECT id, g, v, rank() OVER w AS r, dense_rank() OVER w AS dr, max(id) OVER w AS mx, count(*) OVER w AS c FROM s WINDOW w AS (PARTITION BY g ORDER BY v % 4)$$),
('w19', $$SELECT id, g, v, rank() OVER w AS r FROM s WINDOW w AS (PARTITION BY g ORDER BY v % 4)$$),
-- lag and lead beside values that follow from the rows before: resumed
-- with rows around the changes
('w21', $$SELECT id, g, row_number() OVER w AS rn, lag(v) OVER w AS prev, lead(v, 2) OVER w AS next2, sum(v) OVER w AS running FROM s WINDOW w AS (PARTITION BY g ORDER BY id, v, n)$$),
('w22', $$SELECT id, v, lag(id, 3) OVER w AS p3, count(*) OVER w AS c, max(n) OVER w AS mx FROM s WINDOW w AS (ORDER BY v NULLS FIRST, id, n, g ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)$$),
-- row_number and a ROWS frame over ties: resumed at the change itself (the
-- numbers, not which row has which, are the query's answer)
('w20', $$SELECT g, row_number() OVER w AS rn, count(*) OVER w AS c FROM s WINDOW w AS (PARTITION BY g ORDER BY v % 3 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)$$),
-- running averages (completed from a hidden sum and count), and ranks
-- resumed within a peer group (a rank by a hidden row_number)
('w33', $$SELECT id, g, avg(v) OVER w AS av, avg(n) OVER w AS an, avg(v::bigint) OVER w AS a8, avg(v::smallint) OVER w AS a2, lag(v) OVER w AS prev FROM s WINDOW w AS (PARTITION BY g ORDER BY id, v, n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)$$),
('w34', $$SELECT g, v % 4 AS k, avg(v) OVER w AS av, avg(n) OVER w AS an, rank() OVER w AS r, dense_rank() OVER w AS dr FROM s WINDOW w AS (PARTITION BY g ORDER BY v % 4)$$),
('w35', $$SELECT id, g, v % 3 AS k, dense_rank() OVER w AS dr, rank() OVER w AS r FROM s WINDOW w AS (PARTITION BY g ORDER BY v % 3 NULLS FIRST)$$),
('w36', $$SELECT g, v % 3 AS k, row_number() OVER w AS rn, dense_rank() OVER w AS dr, rank() OVER w AS r FROM s WINDOW w AS (PARTITION BY g ORDER BY v % 3 NULLS FIRST)$$),
-- values of the whole partition (first_value, last_value, nth_value over
-- frames to UNBOUNDED FOLLOWING): the changed rows, or every row when the
-- rows the values read changed
('w37', $$SELECT id, g, first_value(id) OVER w AS f, last_value(v) OVER w AS l, nth_value(n, 3) OVER w AS n3 FROM s WINDOW w AS (PARTITION BY g ORDER BY v, id, n ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)$$),
('w38', $$SELECT id, v, last_value(id) OVER w AS l, nth_value(v, 2) OVER w AS v2 FROM s WINDOW w AS (ORDER BY v DESC NULLS LAST, id, n, g RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)$$),
('w39', $$SELECT * FROM (SELECT id, g, v, last_value(v) OVER w AS top FROM s WINDOW w AS (PARTITION BY g ORDER BY v NULLS FIRST, id, n GROUPS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) x WHERE v = top$$),
-- frames from the current row to the partition's end: run over the rows
-- in reverse, resumed after the row after a change
('w40', $$SELECT id, g, sum(v) OVER w AS s, count(v) OVER w AS c, max(n) OVER w AS mx, avg(v) OVER w AS a, first_value(id) OVER w AS f, last_value(n) OVER w AS l FROM s WINDOW w AS (PARTITION BY g ORDER BY v DESC NULLS FIRST, id, n ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)$$),
('w41', $$SELECT g, v % 4 AS k, sum(v) OVER w AS s, count(*) OVER w AS c, min(n) OVER w AS lo, avg(n) OVER w AS a FROM s WINDOW w AS (PARTITION BY g ORDER BY v % 4 RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)$$),
-- aggregates with FILTER: over the frame to the current row, and a bounded one
('w42', $$SELECT id, g, count(*) FILTER (WHERE v > 10) OVER w AS c, sum(v) FILTER (WHERE id % 3 <> 1) OVER w AS s, avg(n) FILTER (WHERE v % 2 = 0) OVER w AS a, max(id) FILTER (WHERE v < 20) OVER w AS mx FROM s WINDOW w AS (PARTITION BY g ORDER BY id, v, n)$$),
('w43', $$SELECT id, g, sum(v) FILTER (WHERE v > 0) OVER w AS s, count(n) FILTER (WHERE n > 5) OVER w AS c FROM s WINDOW w AS (PARTITION BY g ORDER BY id, v, n ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING)$$),
-- row_number, rank and dense_rank beside a bounded ROWS frame: resumed
-- with rows around the changes, as lag
('w30', $$SELECT id, g, row_number() OVER w AS rn, rank() OVER w AS r, sum(v) OVER w AS s, first_value(id) OVER w AS f FROM s WINDOW w AS (PARTITION BY g ORDER BY id, v, n ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING)$$),
('w31', $$SELECT id, v, dense_rank() OVER w AS dr, count(v) OVER w AS c, lead(v) OVER w AS next, max(n) OVER w AS mx FROM s WINDOW w AS (ORDER BY v, id, n ROWS BETWEEN CURRENT ROW AND 3 FOLLOWING EXCLUDE CURRENT ROW)$$),
('w32', $$SELECT g, v % 4 AS k, rank() OVER w AS r, dense_rank() OVER w AS dr, count(*) OVER w AS c FROM s WINDOW w AS (PARTITION BY g ORDER BY v % 4 ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)$$),
-- RANGE and GROUPS frames with offsets: the rows whose frames hold a change,
-- fed with the rows their frames hold (ties are peers: aggregates only
-- where the order is not total)
('w23', $$SELECT id, g, sum(v) OVER w AS s, count(*) OVER w AS c, max(n) OVER w AS mx FROM s WINDOW w AS (PARTITION BY g ORDER BY id RANGE BETWEEN 3 PRECEDING AND 2 FOLLOWING)$$),
('w24', $$SELECT id, g, sum(v) OVER w AS s, min(id) OVER w AS lo FROM s WINDOW w AS (PARTITION BY g ORDER BY n DESC RANGE BETWEEN 1.5 PRECEDING AND CURRENT ROW EXCLUDE GROUP)$$),
('w25', $$SELECT id, v, count(*) OVER w AS c, sum(id) OVER w AS s FROM s WINDOW w AS (ORDER BY v NULLS FIRST RANGE BETWEEN 2 FOLLOWING AND 5 FOLLOWING)$$),
('w26', $$SELECT id, g, v, count(*) OVER w AS c, sum(v) OVER w AS s, max(id) OVER w AS mx FROM s WINDOW w AS (PARTITION BY g ORDER BY v % 5 GROUPS BETWEEN 2 PRECEDING AND 1 PRECEDING)$$),
('w27', $$SELECT id, g, first_value(id) OVER w AS f, lag(v) OVER w AS prev, sum(v) OVER w AS s FROM s WINDOW w AS (PARTITION BY g ORDER BY v DESC NULLS LAST, id, n GROUPS BETWEEN 1 PRECEDING AND 2 FOLLOWING EXCLUDE TIES)$$),
('w28', $$SELECT id, g, d, count(*) OVER w AS c, sum(v) OVER w AS s FROM (SELECT id, g, v, date '2026-01-01' + id AS d FROM s) x WINDOW w AS (PARTITION BY g ORDER BY d RANGE BETWEEN interval '3 days' PRECEDING AND interval '1 day' PRECEDING)$$),
('w29', $$SELECT id, g, v, count(*) OVER (PARTITION BY g ORDER BY v RANGE BETWEEN CURRENT ROW AND CURRENT ROW) AS peers, sum(id) OVER (PARTITION BY g ORDER BY v::float8 RANGE BETWEEN 2.5 PRECEDING AND 2.5 FOLLOWING) AS near FROM s$$),
-- a running average beside a float sum over a ROWS frame, in two windows
('w12', $$SELECT id, g, avg(v) OVER (PARTITION BY g ORDER BY id, v, n) AS running, sum(v::float8) OVER (PARTITION BY g ORDER BY id, v, n ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS f FROM s$$);

CALL create_views();
SELECT count(*) >= 43 AS catalogue_of_43 FROM views;

INSERT INTO failures SELECT 0, * FROM mismatches();

CREATE PROCEDURE random_statement() LANGUAGE plpgsql AS $$
DECLARE c int := floor(random() * 10)::int;
BEGIN
  CASE c
    WHEN 0, 1 THEN INSERT INTO s SELECT rnd(1, 60, 0), rnd(0, 3, 0), rnd(-10, 50), round((random() * 20)::numeric, rnd(0, 2, 0))
                     FROM generate_series(1, 1 + floor(random() * 3)::int);
    WHEN 2 THEN DELETE FROM s WHERE id = rnd(1, 60, 0);
    WHEN 3 THEN UPDATE s SET v = rnd(-10, 50) WHERE id = rnd(1, 60, 0);          -- values, to NULL
    WHEN 4 THEN UPDATE s SET id = rnd(1, 60, 0) WHERE id = rnd(1, 60, 0);        -- moves in its partition
    WHEN 5 THEN UPDATE s SET g = rnd(0, 3, 0) WHERE id = rnd(1, 60, 0);          -- to another partition
    WHEN 6 THEN INSERT INTO s SELECT * FROM s WHERE id = rnd(1, 60, 0);          -- duplicates
    WHEN 7 THEN DELETE FROM s WHERE g = rnd(0, 3, 0) AND id > rnd(30, 60, 0);    -- many at once
    WHEN 8 THEN UPDATE s SET n = n + 1 WHERE g = rnd(0, 3, 0);                   -- a whole partition
    ELSE INSERT INTO s SELECT rnd(1, 60, 0), rnd(4, 5, 0), rnd(-10, 50), 1 FROM generate_series(1, 2);  -- new partitions
  END CASE;
END $$;

CALL run_rounds(:rounds, 1);
SELECT * FROM failures ORDER BY round, name;
RESET client_min_messages;
DROP SCHEMA dfw CASCADE;
