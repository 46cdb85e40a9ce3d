-- Aggregates kept as per-group states (aggregate.c, valueset.c,
-- numericsum.c) and groups read in order (roworder.c), over many types:
-- extremes of every type with a btree order (enums, arrays, inet, bpchar,
-- time with time zone, money, a domain...), DISTINCT of them, sums and
-- averages of smallint, money, a domain and interval, top-k, DISTINCT ON
-- and rank() <= k.  Random rounds of DML, the current extreme deleted,
-- groups emptied; each view equals its query after every round.
CREATE SCHEMA fz;
SET search_path = fz;
SET client_min_messages = warning;
SELECT setseed(0.31);
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE t (id int, g int, u uuid, i inet, c char(3), vc varchar(5), b bytea, d date, tm time, tz timetz, mo mood, ai int[], at text[], bo bool, sm smallint, o oid, iv interval, m money, dom posint, f8 float8, js jsonb);
ALTER TABLE t REPLICA IDENTITY FULL;
CREATE FUNCTION fill(n int) RETURNS void LANGUAGE sql AS $$
INSERT INTO t SELECT (random()*100)::int, (random()*3)::int,
  CASE WHEN random() < 0.1 THEN NULL ELSE ('00000000-0000-0000-0000-0000000000' || lpad((random()*20)::int::text, 2, '0'))::uuid END,
  CASE WHEN random() < 0.1 THEN NULL ELSE ('10.0.' || (random()*3)::int || '.' || (random()*9)::int)::inet END,
  (ARRAY['a', 'b ', 'ab', NULL])[1 + (random()*3)::int],
  (ARRAY['x', 'xy', 'X', NULL])[1 + (random()*3)::int],
  CASE WHEN random() < 0.1 THEN NULL ELSE decode(lpad(to_hex((random()*300)::int), 4, '0'), 'hex') END,
  date '2020-01-01' + (random()*30)::int,
  time '10:00' + (random()*100)::int * interval '1 minute',
  (time '10:00' + (random()*100)::int * interval '1 minute')::timetz,
  (ARRAY['sad','ok','happy'])[1 + (random()*2)::int]::mood,
  CASE WHEN random() < 0.1 THEN NULL ELSE ARRAY[(random()*3)::int, (random()*3)::int] END,
  ARRAY[(ARRAY['p','q',NULL])[1 + (random()*2)::int]],
  random() < 0.5, (random()*10 - 5)::smallint, (random()*1000)::int::oid,
  (random()*100)::int * interval '1 minute' + (random()*3)::int * interval '1 day',
  ((random()*1000)::int / 100.0)::numeric::money,
  1 + (random()*5)::int,
  (random()*10)::int / 4.0,
  jsonb_build_object('k', (random()*3)::int)
FROM generate_series(1, n) $$;
SELECT fill(200);

CREATE TABLE q (name text, query text);
INSERT INTO q VALUES
 ('a1', 'SELECT g, count(DISTINCT u) a, max(id) b, min(i) c, max(i) d, min(c) e, max(c) f, min(vc) h, max(vc) j FROM t GROUP BY g'),
 ('a2', 'SELECT g, count(DISTINCT b) a, max(sm) b2, min(d) c, max(d) d2, min(tm) e, max(tm) f, min(tz) h, max(tz) j FROM t GROUP BY g'),
 ('a3', 'SELECT g, min(mo) a, max(mo) b, min(ai) c, max(ai) d, min(at) e, max(at) f, bool_and(bo) h, bool_or(bo) j, every(bo) k FROM t GROUP BY g'),
 ('a4', 'SELECT g, min(sm) a, max(sm) b, sum(sm) c, avg(sm) d, min(o) e, max(o) f, min(iv) h, max(iv) j, avg(iv) k, sum(iv) l FROM t GROUP BY g'),
 ('a5', 'SELECT g, min(m) a, max(m) b, sum(m) c, min(dom) d, sum(dom) e, max(f8) f, min(f8) h, count(DISTINCT js) j FROM t GROUP BY g'),
 ('a6', 'SELECT g, count(DISTINCT u) a, count(DISTINCT i) b, count(DISTINCT c) c2, count(DISTINCT vc) d, count(DISTINCT b) e, count(DISTINCT mo) f, count(DISTINCT ai) h, count(DISTINCT iv) j FROM t GROUP BY g'),
 ('a7', 'SELECT g, sum(DISTINCT sm) a, avg(DISTINCT sm::bigint) b, min(DISTINCT d) c, max(DISTINCT mo) d, sum(DISTINCT id::numeric / 8) e, var_samp(DISTINCT sm) f, stddev(sm) h FROM t GROUP BY g'),
 ('a8', 'SELECT count(DISTINCT u) a, max(at) b, count(DISTINCT tz) c, sum(DISTINCT dom) d FROM t WHERE id > 90'),
 ('a9', 'SELECT id, u, iv FROM t ORDER BY iv DESC NULLS FIRST, u, id, b LIMIT 4'),
 ('a10', 'SELECT DISTINCT ON (mo) mo, id, vc FROM t ORDER BY mo, vc COLLATE "C" NULLS FIRST, id, b, u, i, c, d, tm'),
 ('a11', 'SELECT * FROM (SELECT g, id, ai, rank() OVER (PARTITION BY g ORDER BY ai NULLS LAST) r FROM t) s WHERE r <= 3');
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT * FROM q LOOP
    EXECUTE format('CREATE MATERIALIZED VIEW %I WITH (incremental) AS %s', r.name, r.query);
  END LOOP; END $$;
CREATE FUNCTION diffs() RETURNS TABLE (name text, n bigint) LANGUAGE plpgsql AS $$
DECLARE r record; BEGIN
  FOR r IN SELECT * FROM q ORDER BY q.name LOOP
    name := r.name;
    EXECUTE format('SELECT (SELECT count(*) FROM (SELECT * FROM %I EXCEPT ALL (%s)) a) + (SELECT count(*) FROM ((%s) EXCEPT ALL SELECT * FROM %I) b)', r.name, r.query, r.query, r.name) INTO n;
    IF n <> 0 THEN RETURN NEXT; END IF;
  END LOOP; END $$;
SELECT * FROM diffs();
-- which kept no rows: states for the aggregates, rows for the others
SELECT v.relname, a.arrangement, a.records
  FROM coordinator.arrangements a JOIN pg_class v ON v.oid = a.object
 WHERE v.relnamespace = 'fz'::regnamespace AND a.arrangement LIKE 'reduce%'
 ORDER BY 1, 2;
DO $$ BEGIN
FOR k IN 1..40 LOOP
  PERFORM fill((random()*5)::int);
  DELETE FROM t WHERE id = (random()*100)::int;
  UPDATE t SET g = (random()*3)::int, mo = 'happy' WHERE id = (random()*100)::int;
  DELETE FROM t WHERE iv = (SELECT max(iv) FROM t);
  IF k % 10 = 0 THEN DELETE FROM t WHERE g = (random()*3)::int; END IF;
END LOOP; END $$;
SELECT * FROM diffs();
-- large groups (their values spread over many buckets): the extreme deleted
-- again and again, values changed to new extremes, a group emptied
CREATE TABLE ex (id int, g int, t text, n numeric, i int);
INSERT INTO ex SELECT s, s % 3, md5(s::text), round((random() * 1000)::numeric, s % 3),
                      (random() * 100000)::int FROM generate_series(1, 9000) s;
CREATE MATERIALIZED VIEW exv WITH (incremental) AS
  SELECT g, min(t) AS a, max(t) AS b, min(n) AS c, max(n) AS d, min(i) AS e, max(i) AS f,
         count(DISTINCT n) AS k FROM ex GROUP BY g;
INSERT INTO q VALUES ('exv', 'SELECT g, min(t) AS a, max(t) AS b, min(n) AS c, max(n) AS d, min(i) AS e, max(i) AS f, count(DISTINCT n) AS k FROM ex GROUP BY g');
DO $$ BEGIN
FOR k IN 1..30 LOOP
  DELETE FROM ex WHERE t = (SELECT max(t) FROM ex WHERE g = k % 3);
  DELETE FROM ex WHERE n = (SELECT min(n) FROM ex);
  DELETE FROM ex WHERE i IN (SELECT max(i) FROM ex GROUP BY g);
  UPDATE ex SET t = 'zzz' || k, n = -k WHERE id = k * 7;
  DELETE FROM ex WHERE id % 97 = k;
END LOOP; END $$;
SELECT * FROM diffs();
DELETE FROM ex WHERE g = 1;
INSERT INTO ex SELECT s, 1, md5(s::text), s, s FROM generate_series(1, 2000) s;
SELECT * FROM diffs();
SELECT count(*) > 0 AS rows_left FROM t;
RESET client_min_messages;
DROP SCHEMA fz CASCADE;
