-- Any column type, any IMMUTABLE expression, NULLs everywhere.
CREATE SCHEMA ty;
SET search_path = ty, public;

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (x int, y text);
CREATE DOMAIN positive AS int CHECK (VALUE > 0);

CREATE TABLE src (
  id int, i2 int2, i8 int8, f4 float4, f8 float8, num numeric,
  t text, vc varchar(10), ch char(3), b bytea, ok bool,
  d date, ts timestamp, tstz timestamptz, iv interval,
  j jsonb, arr int[], u uuid, ip inet, m mood, p pair, pos positive,
  big text
);

CREATE MATERIALIZED VIEW all_types WITH (incremental) AS SELECT * FROM src;
CREATE MATERIALIZED VIEW exprs WITH (incremental) AS
  SELECT id,
         coalesce(t, '<null>') || '/' || length(coalesce(vc, ''))::text AS txt,
         CASE WHEN ok THEN 'yes' WHEN NOT ok THEN 'no' END AS yn,
         num * 2 AS num2,
         f8 / 2 AS half,
         j -> 'k' AS jk,
         arr[1] AS first,
         (p).y AS py,
         m > 'sad' AS cheerful,
         d + 1 AS tomorrow,
         md5(b) AS digest,
         length(big) AS biglen
    FROM src
   WHERE id IS NOT NULL AND (i2 IS NULL OR i2 <> 0);

INSERT INTO src VALUES
  (1, 1, 10000000000, 1.5, 2.25, 1.0, 'one', 'v1', 'c1', '\x0102', true,
   '2024-01-31', '2024-01-31 10:00', '2024-01-31 10:00+00', '1 day',
   '{"k": [1, 2]}', '{1,2,3}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '10.0.0.1',
   'happy', ROW(1, 'p1'), 5, NULL),
  (2, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, NULL, -1, 'NaN', '-Infinity', 123.4500, 'three', 'v3', 'c3', '\x', false,
   'infinity', '-infinity', 'infinity', '-1 year', 'null', '{}', NULL, '::1',
   'sad', ROW(NULL, NULL), 1, repeat('x', 100000)),
  (NULL, 1, 1, 1, 1, 1, 'no id', NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

SELECT id, i2, i8, f4, f8, num, t, vc, ch, b, ok, d, ts, iv, j, arr, u, ip, m, p, pos, length(big)
  FROM all_types ORDER BY id NULLS LAST;
SELECT * FROM exprs ORDER BY id;

-- binary identity: 1.0 -> 1.00 is a change the view shows
UPDATE src SET num = 1.00 WHERE id = 1;
SELECT id, num FROM all_types WHERE id = 1;
SELECT id, num2 FROM exprs WHERE id = 1;

-- TOAST: a large value survives an update of another column (the update
-- logs it only as a pointer), and a change of the large value itself
UPDATE src SET t = 'three!' WHERE id = 3;
SELECT id, t, length(big), md5(big) = md5(repeat('x', 100000)) AS same FROM all_types WHERE id = 3;
UPDATE src SET big = repeat('y', 200000) WHERE id = 3;
SELECT id, length(big), md5(big) = md5(repeat('y', 200000)) AS same FROM all_types WHERE id = 3;
SELECT id, biglen FROM exprs WHERE id = 3;
DELETE FROM src WHERE id = 3;
SELECT count(*) FROM all_types WHERE id = 3;

-- the views equal their queries
SELECT (SELECT count(*) FROM (TABLE all_types EXCEPT ALL SELECT * FROM src) a) AS extra,
       (SELECT count(*) FROM (SELECT * FROM src EXCEPT ALL TABLE all_types) b) AS missing;

DROP SCHEMA ty CASCADE;
