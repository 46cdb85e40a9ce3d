-- Set-returning functions and VALUES: in FROM with constant arguments
-- (constant rows), LATERAL over a table's rows and in the select list
-- (each row's expansion, maintained as the row changes), queries without
-- a table; and what stays refused.
CREATE SCHEMA fif;
SET search_path = fif, public;

CREATE TABLE docs (id int, doc jsonb, tags text[], n int, body text);
INSERT INTO docs VALUES
  (1, '[1, 2, 3]', '{a,b}', 2, 'x1 y22 z333'),
  (2, '{"k": "v", "m": [4]}', '{c}', 0, 'none'),
  (3, '[]', NULL, 3, 'q9');

-- a query without a table, and VALUES alone
CREATE MATERIALIZED VIEW constants WITH (incremental) AS
  SELECT 1 AS one, 'two'::text AS two, 2 + 1 AS three;
SELECT * FROM constants;
CREATE MATERIALIZED VIEW levels WITH (incremental) AS
  SELECT * FROM (VALUES (1, 'low'), (2, 'mid'), (3, 'high')) v(level, name);
SELECT * FROM levels ORDER BY level;
-- VALUES joined to a table
CREATE MATERIALIZED VIEW doc_levels WITH (incremental) AS
  SELECT d.id, v.name FROM docs d JOIN (VALUES (0, 'none'), (2, 'some'), (3, 'many')) v(n, name) ON v.n = d.n;
-- functions in FROM with constant arguments: an IMMUTABLE SQL function
-- returning a set, a PL/pgSQL one, generate_series crossed with a table
CREATE FUNCTION colours() RETURNS TABLE (c text, rank int)
  IMMUTABLE LANGUAGE sql AS $$ VALUES ('red', 1), ('green', 2) $$;
CREATE FUNCTION squares(k int) RETURNS SETOF int
  IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN FOR i IN 1 .. k LOOP RETURN NEXT i * i; END LOOP; END $$;
CREATE MATERIALIZED VIEW palette WITH (incremental) AS SELECT * FROM colours();
CREATE MATERIALIZED VIEW sq WITH (incremental) AS SELECT s FROM squares(3) s;
CREATE MATERIALIZED VIEW doc_copies WITH (incremental) AS
  SELECT d.id, g FROM docs d, generate_series(1, 2) g;
SELECT * FROM palette ORDER BY rank;
SELECT * FROM sq ORDER BY s;

-- LATERAL over each row: jsonb, arrays with ORDINALITY, several arrays in
-- lockstep, generate_series(1, column), regexp_matches, ROWS FROM, LEFT
-- JOIN LATERAL ... ON true, a LATERAL subquery with an aggregate and one
-- with ORDER BY ... LIMIT
CREATE MATERIALIZED VIEW elements WITH (incremental) AS
  SELECT d.id, e.value FROM docs d, jsonb_array_elements(d.doc) e
   WHERE jsonb_typeof(d.doc) = 'array';
CREATE MATERIALIZED VIEW pairs WITH (incremental) AS
  SELECT d.id, p.key, p.value FROM docs d CROSS JOIN LATERAL jsonb_each(d.doc) p
   WHERE jsonb_typeof(d.doc) = 'object';
CREATE MATERIALIZED VIEW tag_list WITH (incremental) AS
  SELECT d.id, t.tag, t.pos FROM docs d, unnest(d.tags) WITH ORDINALITY t(tag, pos);
CREATE MATERIALIZED VIEW zipped WITH (incremental) AS
  SELECT d.id, z.tag, z.i FROM docs d, unnest(d.tags, ARRAY[10, 20, 30]) z(tag, i);
CREATE MATERIALIZED VIEW counted WITH (incremental) AS
  SELECT d.id, g FROM docs d, generate_series(1, d.n) g;
CREATE MATERIALIZED VIEW numbers WITH (incremental) AS
  SELECT d.id, m[1] AS num FROM docs d, regexp_matches(d.body, '[0-9]+', 'g') m;
CREATE MATERIALIZED VIEW rows_from WITH (incremental) AS
  SELECT d.id, r.tag, r.g FROM docs d, ROWS FROM (unnest(d.tags), generate_series(1, d.n)) r(tag, g);
CREATE MATERIALIZED VIEW with_empty WITH (incremental) AS
  SELECT d.id, t.tag FROM docs d LEFT JOIN LATERAL unnest(d.tags) t(tag) ON true;
CREATE MATERIALIZED VIEW tag_stats WITH (incremental) AS
  SELECT d.id, s.n, s.first FROM docs d,
         LATERAL (SELECT count(*) AS n, min(x) AS first FROM unnest(d.tags) x) s;
CREATE MATERIALIZED VIEW top_element WITH (incremental) AS
  SELECT d.id, t.v FROM docs d,
         LATERAL (SELECT e::int AS v FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(d.doc) = 'array' THEN d.doc ELSE '[]' END) e
                  ORDER BY e::int DESC LIMIT 2) t;
-- set-returning functions in the select list advance in lockstep
CREATE MATERIALIZED VIEW lockstep WITH (incremental) AS
  SELECT id, unnest(tags) AS tag, generate_series(1, n) AS g FROM docs;
-- under an aggregate
CREATE MATERIALIZED VIEW tag_counts WITH (incremental) AS
  SELECT t.tag, count(*) AS n FROM docs d, unnest(d.tags) t(tag) GROUP BY t.tag;

\i sql/include/views_catalogue.sql
INSERT INTO views VALUES
  ('constants', $$SELECT 1 AS one, 'two'::text AS two, 2 + 1 AS three$$),
  ('levels', $$SELECT * FROM (VALUES (1, 'low'), (2, 'mid'), (3, 'high')) v(level, name)$$),
  ('doc_levels', $$SELECT d.id, v.name FROM docs d JOIN (VALUES (0, 'none'), (2, 'some'), (3, 'many')) v(n, name) ON v.n = d.n$$),
  ('palette', $$SELECT * FROM colours()$$),
  ('sq', $$SELECT s FROM squares(3) s$$),
  ('doc_copies', $$SELECT d.id, g FROM docs d, generate_series(1, 2) g$$),
  ('elements', $$SELECT d.id, e.value FROM docs d, jsonb_array_elements(d.doc) e WHERE jsonb_typeof(d.doc) = 'array'$$),
  ('pairs', $$SELECT d.id, p.key, p.value FROM docs d CROSS JOIN LATERAL jsonb_each(d.doc) p WHERE jsonb_typeof(d.doc) = 'object'$$),
  ('tag_list', $$SELECT d.id, t.tag, t.pos FROM docs d, unnest(d.tags) WITH ORDINALITY t(tag, pos)$$),
  ('zipped', $$SELECT d.id, z.tag, z.i FROM docs d, unnest(d.tags, ARRAY[10, 20, 30]) z(tag, i)$$),
  ('counted', $$SELECT d.id, g FROM docs d, generate_series(1, d.n) g$$),
  ('numbers', $$SELECT d.id, m[1] AS num FROM docs d, regexp_matches(d.body, '[0-9]+', 'g') m$$),
  ('rows_from', $$SELECT d.id, r.tag, r.g FROM docs d, ROWS FROM (unnest(d.tags), generate_series(1, d.n)) r(tag, g)$$),
  ('with_empty', $$SELECT d.id, t.tag FROM docs d LEFT JOIN LATERAL unnest(d.tags) t(tag) ON true$$),
  ('tag_stats', $$SELECT d.id, s.n, s.first FROM docs d, LATERAL (SELECT count(*) AS n, min(x) AS first FROM unnest(d.tags) x) s$$),
  ('top_element', $$SELECT d.id, t.v FROM docs d, LATERAL (SELECT e::int AS v FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(d.doc) = 'array' THEN d.doc ELSE '[]' END) e ORDER BY e::int DESC LIMIT 2) t$$),
  ('lockstep', $$SELECT id, unnest(tags) AS tag, generate_series(1, n) AS g FROM docs$$),
  ('tag_counts', $$SELECT t.tag, count(*) AS n FROM docs d, unnest(d.tags) t(tag) GROUP BY t.tag$$);

SELECT * FROM mismatches();
SELECT * FROM lockstep ORDER BY id, g NULLS LAST, tag;
SELECT * FROM with_empty ORDER BY id, tag;

-- changes of the rows: each costs its row's expansion
UPDATE docs SET doc = '[5, 6]', tags = '{d,e,f}', n = 1 WHERE id = 2;
UPDATE docs SET doc = '{"a": 1}', n = 4, body = 'n1 n2' WHERE id = 1;
INSERT INTO docs VALUES (4, '[7]', '{a}', 1, '12'), (4, '[7]', '{a}', 1, '12');
DELETE FROM docs WHERE id = 3;
BEGIN;
UPDATE docs SET tags = NULL;
ROLLBACK;
SELECT * FROM mismatches();
SELECT * FROM tag_counts ORDER BY tag;

-- a data error in a row's expansion is the view's error while the row is
-- there (jsonb_array_elements of an object)
CREATE MATERIALIZED VIEW strict_elements WITH (incremental) AS
  SELECT d.id, e FROM docs d, jsonb_array_elements(d.doc) e;
SELECT count(*) FROM strict_elements;
UPDATE docs SET doc = '[1]' WHERE jsonb_typeof(doc) = 'object';
SELECT count(*) FROM strict_elements;

-- constant rows filtered by a subquery, or with one in the select list:
-- they change when the subquery does
CREATE TABLE used (id int);
INSERT INTO used VALUES (3), (5);
CREATE MATERIALIZED VIEW unused WITH (incremental) AS
  SELECT g FROM generate_series(1, 10) g WHERE g NOT IN (SELECT id FROM used);
CREATE MATERIALIZED VIEW with_max WITH (incremental) AS
  SELECT g, (SELECT max(id) FROM used) AS m FROM generate_series(1, 3) g;
INSERT INTO used VALUES (7), (9);
DELETE FROM used WHERE id = 3;
SELECT array_agg(g ORDER BY g) FROM unused;
SELECT * FROM with_max ORDER BY g;
-- ORDER BY ... LIMIT above set-returning functions in the select list
CREATE MATERIALIZED VIEW first_tags WITH (incremental) AS
  SELECT id, unnest(tags) AS tag FROM docs WHERE id <> 4 ORDER BY id LIMIT 2;
SELECT * FROM first_tags ORDER BY id, tag;

-- jsonb_to_recordset and jsonb_to_record are STABLE only through the input
-- functions of their columns: with columns whose input is IMMUTABLE they
-- are maintained
CREATE TABLE orders (id int, items jsonb);
INSERT INTO orders VALUES (1, '[{"sku": "a", "qty": 2, "tags": ["x"]}, {"sku": "b"}]'),
                          (2, '[]');
CREATE MATERIALIZED VIEW order_items WITH (incremental) AS
  SELECT o.id, r.sku, r.qty, r.tags FROM orders o,
         jsonb_to_recordset(o.items) AS r(sku text, qty int, tags text[]);
CREATE MATERIALIZED VIEW first_item WITH (incremental) AS
  SELECT o.id, r.sku FROM orders o, jsonb_to_record(o.items -> 0) AS r(sku text);
UPDATE orders SET items = '[{"sku": "c", "qty": 5}]' WHERE id = 2;
UPDATE orders SET items = items || '[{"sku": "d", "qty": 1}]' WHERE id = 1;
SELECT * FROM order_items ORDER BY id, sku;
SELECT * FROM first_item ORDER BY id;
-- a timestamptz column's input reads TimeZone and DateStyle: refused
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT o.id, r.at FROM orders o, jsonb_to_recordset(o.items) AS r(at timestamptz);

-- refused: LATERAL over a table, functions that are not IMMUTABLE, a
-- function whose argument reads a subquery
\set VERBOSITY default
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT d.id, x.id AS other FROM docs d,
         LATERAL (SELECT id FROM docs e WHERE e.n > d.n ORDER BY id LIMIT 1) x;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT * FROM generate_series(now(), now() + interval '1 day', interval '1 hour');
CREATE FUNCTION volatile_rows() RETURNS SETOF int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT * FROM volatile_rows();
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT * FROM generate_series(1, (SELECT max(n) FROM docs));
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT * FROM XMLTABLE('/a' PASSING CAST('<a/>' AS xml) COLUMNS x int);
\set VERBOSITY terse

DROP SCHEMA fif CASCADE;
