-- Differential test of set-returning functions, LATERAL and VALUES:
-- seeded random DML on jsonb, array and text columns (NULLs, empty and
-- scalar documents, duplicates), committed or rolled back; after every
-- round each view must equal Postgres's own answer to its query.
--
--   COORDINATOR_DIFF_ROUNDS (default 25), COORDINATOR_DIFF_SEED (0.42).
\set rounds 25
\set seed 0.42
\getenv rounds COORDINATOR_DIFF_ROUNDS
\getenv seed COORDINATOR_DIFF_SEED
CREATE SCHEMA dfn;
SET search_path = dfn, public;
SET client_min_messages = warning;
SELECT setseed(:seed) \gset

CREATE TABLE docs (id int, doc jsonb, tags text[], n int, body text);
CREATE TABLE kinds (tag text, kind text);
INSERT INTO kinds VALUES ('a', 'vowel'), ('b', 'consonant'), ('c', 'consonant'), ('e', 'vowel'), (NULL, 'none');

CREATE FUNCTION rnd(lo int, hi int, nulls float8 DEFAULT 0.1) RETURNS int
  LANGUAGE sql AS $$ SELECT CASE WHEN random() < nulls THEN NULL
                            ELSE lo + floor(random() * (hi - lo + 1))::int END $$;
-- arrays of 0 to 3 numbers, objects of 0 to 2 keys, and now and then a
-- scalar or NULL
CREATE FUNCTION rnd_doc() RETURNS jsonb LANGUAGE sql AS $$
  SELECT CASE WHEN r < 0.5 THEN (SELECT coalesce(jsonb_agg(rnd(0, 9, 0)), '[]') FROM generate_series(1, rnd(0, 3, 0)))
              WHEN r < 0.85 THEN (SELECT coalesce(jsonb_object_agg('k' || rnd(0, 3, 0), rnd(0, 9)), '{}') FROM generate_series(1, rnd(0, 2, 0)))
              WHEN r < 0.95 THEN to_jsonb(rnd(0, 9, 0))
              ELSE NULL END
    FROM (SELECT random() AS r) x $$;
CREATE FUNCTION rnd_tags() RETURNS text[] LANGUAGE sql AS $$
  SELECT CASE WHEN random() < 0.1 THEN NULL
              ELSE ARRAY(SELECT (ARRAY['a', 'b', 'c', 'e', NULL])[1 + floor(random() * 5)::int]
                           FROM generate_series(1, rnd(0, 4, 0))) END $$;
CREATE FUNCTION rnd_body() RETURNS text LANGUAGE sql AS $$
  SELECT (ARRAY['x1 y22', 'none', '7 8 9', '', NULL, 'a1b2'])[1 + floor(random() * 6)::int] $$;
INSERT INTO docs SELECT rnd(1, 30, 0), rnd_doc(), rnd_tags(), rnd(0, 4), rnd_body() FROM generate_series(1, 40);

CREATE FUNCTION squares(k int) RETURNS SETOF int
  IMMUTABLE STRICT LANGUAGE plpgsql AS $$ BEGIN FOR i IN 1 .. k LOOP RETURN NEXT i * i; END LOOP; END $$;

\i sql/include/views_catalogue.sql
INSERT INTO views VALUES
('f01', $$SELECT d.id, e.value FROM docs d, jsonb_array_elements(d.doc) e WHERE jsonb_typeof(d.doc) = 'array'$$),
('f02', $$SELECT d.id, p.key, p.value FROM docs d, jsonb_each(d.doc) p WHERE jsonb_typeof(d.doc) = 'object'$$),
('f03', $$SELECT d.id, t.tag, t.pos FROM docs d, unnest(d.tags) WITH ORDINALITY t(tag, pos)$$),
('f04', $$SELECT d.id, z.tag, z.i FROM docs d, unnest(d.tags, ARRAY[10, 20, 30]) z(tag, i)$$),
('f05', $$SELECT d.id, g FROM docs d, generate_series(1, d.n) g$$),
('f06', $$SELECT d.id, m[1] AS num FROM docs d, regexp_matches(d.body, '[0-9]+', 'g') m$$),
('f07', $$SELECT d.id, r.tag, r.g FROM docs d, ROWS FROM (unnest(d.tags), generate_series(1, d.n)) r(tag, g)$$),
('f08', $$SELECT d.id, t.tag FROM docs d LEFT JOIN LATERAL unnest(d.tags) t(tag) ON true$$),
('f09', $$SELECT d.id, s.n, s.first FROM docs d, LATERAL (SELECT count(*) AS n, min(x) AS first FROM unnest(d.tags) x) s$$),
('f10', $$SELECT d.id, t.v FROM docs d, LATERAL (SELECT e::int AS v FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(d.doc) = 'array' THEN d.doc ELSE '[]' END) e ORDER BY e::int DESC LIMIT 2) t$$),
('f11', $$SELECT id, unnest(tags) AS tag, generate_series(1, n) AS g FROM docs$$),
('f12', $$SELECT t.tag, count(*) AS n, count(DISTINCT d.id) AS docs FROM docs d, unnest(d.tags) t(tag) GROUP BY t.tag$$),
('f13', $$SELECT k.kind, count(*) AS n FROM docs d, unnest(d.tags) t(tag) JOIN kinds k ON k.tag = t.tag GROUP BY k.kind$$),
('f14', $$SELECT d.id, v.name FROM docs d JOIN (VALUES (0, 'none'), (2, 'some'), (3, 'many')) v(n, name) ON v.n = d.n$$),
('f15', $$SELECT d.id, g FROM docs d, generate_series(1, 2) g WHERE d.n > 2$$),
('f16', $$SELECT d.id, s FROM docs d, squares(d.n) s$$),
('f17', $$SELECT DISTINCT e.value FROM docs d, jsonb_array_elements(d.doc) e WHERE jsonb_typeof(d.doc) = 'array'$$),
('f18', $$SELECT p.key, sum((p.value)::int) AS total FROM docs d, jsonb_each_text(d.doc) p WHERE jsonb_typeof(d.doc) = 'object' GROUP BY p.key$$),
('f19', $$SELECT d.id, x.tag, x.kind FROM docs d LEFT JOIN LATERAL (SELECT t.tag, k.kind FROM unnest(d.tags) t(tag) JOIN (VALUES ('a', 'first'), ('b', 'second')) k(tag, kind) ON k.tag = t.tag) x ON true$$),
('f20', $$SELECT id, jsonb_array_length(CASE WHEN jsonb_typeof(doc) = 'array' THEN doc END) AS len, jsonb_object_keys(CASE WHEN jsonb_typeof(doc) = 'object' THEN doc ELSE '{}' END) AS key FROM docs$$),
('f21', $$SELECT * FROM (VALUES (1, 'one'), (2, 'two')) v(i, s) CROSS JOIN generate_series(1, 2) g$$),
('f22', $$SELECT count(*) AS n, sum(g) AS s FROM docs d, generate_series(0, d.n) g$$);

CALL create_views();
SELECT count(*) >= 20 AS catalogue_of_20 FROM views;

INSERT INTO failures SELECT 0, * FROM mismatches();

CREATE PROCEDURE random_statement() LANGUAGE plpgsql AS $$
DECLARE c int := floor(random() * 10)::int;
BEGIN
  CASE c
    WHEN 0, 1 THEN INSERT INTO docs SELECT rnd(1, 30, 0), rnd_doc(), rnd_tags(), rnd(0, 4), rnd_body()
                     FROM generate_series(1, 1 + floor(random() * 3)::int);
    WHEN 2 THEN UPDATE docs SET doc = rnd_doc() WHERE id = rnd(1, 30, 0);
    WHEN 3 THEN UPDATE docs SET tags = rnd_tags() WHERE id = rnd(1, 30, 0);
    WHEN 4 THEN UPDATE docs SET n = rnd(0, 4) WHERE id = rnd(1, 30, 0);
    WHEN 5 THEN UPDATE docs SET body = rnd_body(), id = rnd(1, 30, 0) WHERE id = rnd(1, 30, 0);
    WHEN 6 THEN DELETE FROM docs WHERE id = rnd(1, 30, 0);
    WHEN 7 THEN UPDATE docs SET tags = tags || 'a'::text WHERE n = rnd(0, 4, 0);
    WHEN 8 THEN UPDATE kinds SET kind = (ARRAY['vowel', 'consonant', 'other'])[1 + floor(random() * 3)::int]
                  WHERE tag = (ARRAY['a', 'b', 'c', 'e'])[1 + floor(random() * 4)::int];
    ELSE INSERT INTO docs SELECT * FROM docs WHERE id = rnd(1, 30, 0);   -- duplicates
  END CASE;
END $$;

CALL run_rounds(:rounds, 1);
SELECT * FROM failures ORDER BY round, name;
RESET client_min_messages;
DROP SCHEMA dfn CASCADE;
