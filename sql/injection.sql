-- Identifier and literal injection: schemas, tables, columns and views
-- whose names hold double and single quotes, backslashes, semicolons,
-- dollar quotes, spaces and mixed case, and view definitions whose string
-- literals do, through every function that takes a name or a query as
-- text.  The views work, and nothing runs that should not: the canary
-- table, which every payload tries to drop or empty, keeps its rows.
CREATE SCHEMA inj;
CREATE TABLE inj.canary (x int);
INSERT INTO inj.canary VALUES (1), (2), (3);
-- (no view reads the canary: DROP TABLE would be refused for that alone)
CREATE TABLE inj.data (x int);
INSERT INTO inj.data VALUES (1), (2), (3);
\set VERBOSITY default

CREATE SCHEMA "Sch ""x""; DROP TABLE inj.canary; --";
SET search_path = "Sch ""x""; DROP TABLE inj.canary; --", inj;
CREATE TABLE "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --" (
  "co""l" int, "Mixed Case" text, "back\slash" text, "semi;colon" int, "$$" text);
INSERT INTO "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --" VALUES
  (1, 'it''s', E'a\\b', 10, '$$'),
  (2, '$$; DROP TABLE inj.canary; $$', 'c;d', 20, '$x$'),
  (3, '"q"', NULL, 30, E'\'; DROP TABLE inj.canary; --'),
  (4, 'x'');DROP TABLE inj.canary;--', E'\\', 40, NULL);

-- CREATE MATERIALIZED VIEW: literals with quotes, E'' escapes, dollar
-- quotes (one inside another) in the select list and the WHERE clause
CREATE MATERIALIZED VIEW "vi""ew; DROP TABLE inj.canary; --" WITH (incremental) AS
  SELECT "co""l",
         "Mixed Case" || '''s' AS "o'k",
         coalesce("back\slash", 'none') || E'\\n\'' AS "e\x",
         $$x'y"z; DROP TABLE inj.canary;$$ AS "dq",
         $t$$$a$$ $x$b$x$$t$ AS "$t$",
         "semi;colon" * 2 AS "semi;colon",
         "$$"
    FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --"
   WHERE "Mixed Case" <> 'it''s; DROP TABLE inj.canary; --';
SELECT * FROM "vi""ew; DROP TABLE inj.canary; --" ORDER BY "co""l";
SELECT name, definition FROM coordinator.objects
 WHERE relid = '"vi""ew; DROP TABLE inj.canary; --"'::regclass;

-- column names of the view's own, a view named with a dollar quote and a
-- backslash in another schema, and mixed case
CREATE MATERIALIZED VIEW "$x$ \ view" ("a""b", "c d", "E;F") WITH (incremental) AS
  SELECT "co""l", "semi;colon", "Mixed Case" FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --";
CREATE MATERIALIZED VIEW inj."MixedView" WITH (incremental) AS
  SELECT count(*) AS n, string_agg("$$", '|' ORDER BY "co""l") AS "$$"
    FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --";
SELECT * FROM "$x$ \ view" ORDER BY "a""b";
SELECT * FROM inj."MixedView";
SELECT to_regclass('inj.mixedview'), to_regclass('inj."MixedView"');

-- writes with such literals; the views equal their queries
INSERT INTO "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --" VALUES
  (5, E'O\'Brien', E'\\\\', 50, $$'$$);
UPDATE "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --"
   SET "back\slash" = 'x''); DROP TABLE inj.canary; --' WHERE "co""l" = 2;
DELETE FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --" WHERE "co""l" = 3;
SELECT * FROM "vi""ew; DROP TABLE inj.canary; --" ORDER BY "co""l";
(TABLE "vi""ew; DROP TABLE inj.canary; --" EXCEPT ALL
 SELECT "co""l", "Mixed Case" || '''s', coalesce("back\slash", 'none') || E'\\n\'',
        $$x'y"z; DROP TABLE inj.canary;$$, $t$$$a$$ $x$b$x$$t$, "semi;colon" * 2, "$$"
   FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --"
  WHERE "Mixed Case" <> 'it''s; DROP TABLE inj.canary; --')
UNION ALL
(SELECT "co""l", "Mixed Case" || '''s', coalesce("back\slash", 'none') || E'\\n\'',
        $$x'y"z; DROP TABLE inj.canary;$$, $t$$$a$$ $x$b$x$$t$, "semi;colon" * 2, "$$"
   FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --"
  WHERE "Mixed Case" <> 'it''s; DROP TABLE inj.canary; --'
 EXCEPT ALL TABLE "vi""ew; DROP TABLE inj.canary; --");
(TABLE "$x$ \ view" EXCEPT ALL
 SELECT "co""l", "semi;colon", "Mixed Case" FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --")
UNION ALL
(SELECT "co""l", "semi;colon", "Mixed Case" FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --"
 EXCEPT ALL TABLE "$x$ \ view");
SELECT * FROM inj."MixedView";

-- coordinator.create_materialized_view(name, query): the name is parsed
-- as a possibly qualified identifier (quoted parts keep their case and
-- characters, unquoted ones are folded), then quoted into the statement
SELECT coordinator.create_materialized_view(
  '"Sch ""x""; DROP TABLE inj.canary; --"."fv""; DROP TABLE inj.canary; --"',
  $q$SELECT "co""l", 'a''b; DROP TABLE inj.canary; --' AS lit
       FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --" WHERE "$$" <> '$x$'$q$);
SELECT coordinator.create_materialized_view('inj.FoldedName', 'SELECT x FROM inj.data');
SELECT coordinator.create_materialized_view('inj."KeptName"', 'SELECT x FROM inj.data');
SELECT coordinator.create_materialized_view('  inj . "sp aced"  ', 'SELECT x FROM inj.data');
SELECT coordinator.create_materialized_view(current_database() || '.inj.with_db', 'SELECT x FROM inj.data');
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'inj'::regnamespace AND c.relkind = 'm' ORDER BY c.relname COLLATE "C";
SELECT * FROM "fv""; DROP TABLE inj.canary; --" ORDER BY "co""l";
-- names that are not names, or name another database
SELECT coordinator.create_materialized_view('inj.v; DROP TABLE inj.canary', 'SELECT x FROM inj.data');
SELECT coordinator.create_materialized_view('"inj.v; DROP TABLE inj.canary', 'SELECT x FROM inj.data');
SELECT coordinator.create_materialized_view('inj.v"; DROP TABLE inj.canary; --"', 'SELECT x FROM inj.data');
SELECT coordinator.create_materialized_view('other_db.inj.v', 'SELECT x FROM inj.data');
SELECT to_regclass('inj.v');
-- a query that would end the statement early and start another one
SELECT coordinator.create_materialized_view('inj.q1',
  $q$SELECT $$x$$ AS a FROM inj.data; DROP TABLE inj.canary; SELECT $$y$$$q$);
SELECT coordinator.create_materialized_view('inj.q2',
  $q$SELECT 'x' AS a FROM inj.data -- '; DROP TABLE inj.canary$q$);
-- (the message only: its position would be the one in the built statement)
DO $do$
BEGIN
  PERFORM coordinator.create_materialized_view('inj.q3',
    $q$SELECT 'x' AS a FROM inj.data /* unterminated$q$);
EXCEPTION WHEN syntax_error THEN
  RAISE NOTICE '%', SQLERRM;
END $do$;
SELECT coordinator.create_materialized_view('inj.q4',
  $q$SELECT x FROM inj.data WITH DATA; DELETE FROM inj.canary$q$);
SELECT coordinator.create_materialized_view('inj.q5',
  $q$WITH d AS (DELETE FROM inj.canary RETURNING x) SELECT x FROM d$q$);
SELECT * FROM inj.q2;
SELECT to_regclass('inj.q1'), to_regclass('inj.q3'), to_regclass('inj.q4'), to_regclass('inj.q5');
-- with standard_conforming_strings off, the query is read the same way
-- when it is checked and when it runs
SET standard_conforming_strings = off;
SET escape_string_warning = off;
SELECT coordinator.create_materialized_view('inj."scs off"',
  $q$SELECT x, 'it\'s; DROP TABLE inj.canary; --' AS s, 'a\\b' AS t FROM inj.data$q$);
RESET escape_string_warning;
RESET standard_conforming_strings;
SELECT * FROM inj."scs off" ORDER BY x;

-- coordinator.subscribe_open: a target with a space, a semicolon or a
-- parenthesis outside double quotes is a query, otherwise a name
SELECT coordinator.subscribe_open('"vi""ew; DROP TABLE inj.canary; --"') AS s1 \gset
CREATE TEMP TABLE sub1 AS SELECT coordinator.subscribe_fetch(:s1, 100, '10s');
SELECT "co""l", "o'k", "e\x", mz_diff FROM sub1 ORDER BY "co""l";
SELECT coordinator.subscribe_open(
  '"Sch ""x""; DROP TABLE inj.canary; --"."$x$ \ view"', snapshot => false) AS s2 \gset
INSERT INTO "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --" VALUES (6, 'six''s', NULL, 60, '$$');
CREATE TEMP TABLE sub2 AS SELECT coordinator.subscribe_fetch(:s2, 100, '10s');
SELECT "a""b", "c d", "E;F", mz_diff FROM sub2;
SELECT coordinator.subscribe_open('"$x$ \ view"', upsert_key => ARRAY['a"b']) AS s3 \gset
CREATE TEMP TABLE sub3 AS SELECT coordinator.subscribe_fetch(:s3, 100, '10s');
SELECT mz_state, "a""b", "E;F" FROM sub3 ORDER BY "a""b";
SELECT coordinator.subscribe_open(
  $q$SELECT "co""l", 'a''b; DROP TABLE inj.canary; --' AS lit FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --" WHERE "co""l" < 3$q$) AS s4 \gset
CREATE TEMP TABLE sub4 AS SELECT coordinator.subscribe_fetch(:s4, 100, '10s');
SELECT "co""l", lit, mz_diff FROM sub4 ORDER BY "co""l";
SELECT coordinator.subscribe_close(id) FROM coordinator.subscriptions
 WHERE pid = pg_backend_pid() ORDER BY id;
\set VERBOSITY terse
SELECT coordinator.subscribe_open('vi"ew; DROP TABLE inj.canary; --');
DO $do$
BEGIN
  PERFORM coordinator.subscribe_open('"vi""ew; DROP TABLE inj.canary; --"; DROP TABLE inj.canary');
EXCEPTION WHEN syntax_error THEN
  RAISE NOTICE '%', SQLERRM;
END $do$;
SELECT coordinator.subscribe_open('SELECT x FROM inj.canary; DROP TABLE inj.canary');
SELECT coordinator.subscribe_open('WITH d AS (DELETE FROM inj.canary RETURNING x) SELECT x FROM d');
SELECT coordinator.subscribe_open('"no such view; DROP TABLE inj.canary"');
\set VERBOSITY default

-- coordinator.as_of(NULL::"view", ts): the view is named by its row type
SELECT count(*) FROM "vi""ew; DROP TABLE inj.canary; --";
SELECT coordinator.last_read_timestamp() AS t0 \gset
(SELECT * FROM coordinator.as_of(NULL::"vi""ew; DROP TABLE inj.canary; --", :t0)
 EXCEPT ALL TABLE "vi""ew; DROP TABLE inj.canary; --")
UNION ALL
(TABLE "vi""ew; DROP TABLE inj.canary; --"
 EXCEPT ALL SELECT * FROM coordinator.as_of(NULL::"vi""ew; DROP TABLE inj.canary; --", :t0));
SELECT count(*) FROM coordinator.as_of(NULL::"Sch ""x""; DROP TABLE inj.canary; --"."$x$ \ view", :t0);
\set VERBOSITY terse
SELECT * FROM coordinator.as_of(NULL::"Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --", :t0);
\set VERBOSITY default

-- coordinator.explain_timestamp: the view's name comes back quoted
SELECT line FROM regexp_split_to_table(coordinator.explain_timestamp(
  $q$SELECT * FROM "vi""ew; DROP TABLE inj.canary; --" JOIN "$x$ \ view" ON "co""l" = "a""b"$q$), E'\n') line
 WHERE line LIKE 'view %' ORDER BY line COLLATE "C";
SELECT s->>'name' AS name FROM jsonb_array_elements(coordinator.explain_timestamp_json(
  $q$SELECT * FROM "vi""ew; DROP TABLE inj.canary; --"$q$)->'sources') s;
SELECT coordinator.explain_timestamp($q$SELECT 1; DROP TABLE inj.canary$q$);
SELECT coordinator.explain_timestamp($q$DELETE FROM inj.canary$q$);
-- a data-modifying WITH is planned, never run
SELECT coordinator.explain_timestamp(
  $q$WITH d AS (DELETE FROM inj.canary RETURNING x) SELECT x FROM d$q$) LIKE '%query timestamp%';

-- coordinator.set_retain_history('"view"'::regclass, ...)
SELECT coordinator.set_retain_history('"vi""ew; DROP TABLE inj.canary; --"'::regclass, '1 hour');
SELECT coordinator.set_retain_history('"Ta''ble $$ $x$ \ ""; DROP TABLE inj.canary; --"'::regclass, '1 hour');
SELECT name, retain_history FROM coordinator.objects
 WHERE relid = '"vi""ew; DROP TABLE inj.canary; --"'::regclass;
CREATE MATERIALIZED VIEW "rh" WITH (incremental, retain_history = '1 hour''; DROP TABLE inj.canary; --')
  AS SELECT x FROM inj.data;

-- a view whose name holds format directives: a data error names it as is
CREATE MATERIALIZED VIEW "%s%n%x ""v""" WITH (incremental) AS
  SELECT "co""l", 100 / "semi;colon" AS r FROM "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --";
SELECT * FROM "%s%n%x ""v""" ORDER BY "co""l";
UPDATE "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --" SET "semi;colon" = 0 WHERE "co""l" = 1;
SELECT * FROM "%s%n%x ""v""" ORDER BY "co""l";
UPDATE "Ta'ble $$ $x$ \ ""; DROP TABLE inj.canary; --" SET "semi;colon" = 10 WHERE "co""l" = 1;
SELECT * FROM "%s%n%x ""v""" ORDER BY "co""l";

-- every view is still running, and the canary is whole
SELECT name, state FROM coordinator.objects
 WHERE relid IN (SELECT c.oid FROM pg_class c
                  WHERE c.relnamespace IN ('inj'::regnamespace,
                                           '"Sch ""x""; DROP TABLE inj.canary; --"'::regnamespace))
 ORDER BY name::text COLLATE "C";
SELECT * FROM inj.canary ORDER BY x;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA "Sch ""x""; DROP TABLE inj.canary; --" CASCADE;
DROP SCHEMA inj CASCADE;
RESET client_min_messages;
SELECT count(*) FROM coordinator.objects o
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = o.relid);
