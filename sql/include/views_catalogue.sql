-- Shared by the tests that compare maintained views with their queries
-- (\i sql/include/views_catalogue.sql, in the test's schema): the table
-- views lists them (name, query); create_views() creates them all (a
-- refusal is a test failure); mismatches() lists those whose contents and
-- query differ (EXCEPT ALL both ways; the views are in the schema of the
-- table views, their queries read what search_path finds);
-- run_rounds(rounds, first) runs rounds of random_statement(), which the
-- test defines, each a transaction of 1 to 4 statements, committed or (one
-- in five) rolled back, and records the mismatches after each in failures.
CREATE TABLE views (name text PRIMARY KEY, query text NOT NULL);
CREATE TABLE failures (round int, name text, missing bigint, extra bigint);

CREATE PROCEDURE create_views() LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM views ORDER BY name LOOP
    EXECUTE format('CREATE MATERIALIZED VIEW %I WITH (incremental) AS %s', r.name, r.query);
  END LOOP;
END $$;

CREATE FUNCTION mismatches() RETURNS TABLE (name text, missing bigint, extra bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  -- the views are where the table views is; the queries resolve names
  -- by search_path
  s text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.oid = 'views'::regclass);
BEGIN
  FOR r IN SELECT * FROM views ORDER BY views.name LOOP
    EXECUTE format('SELECT (SELECT count(*) FROM ((%s) EXCEPT ALL SELECT * FROM %I.%I) a),
                           (SELECT count(*) FROM (SELECT * FROM %I.%I EXCEPT ALL (%s)) b)',
                   r.query, s, r.name, s, r.name, r.query)
      INTO missing, extra;
    name := r.name;
    IF missing <> 0 OR extra <> 0 THEN
      RETURN NEXT;
    END IF;
  END LOOP;
END $$;

CREATE PROCEDURE run_rounds(rounds int, first int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN first .. first + rounds - 1 LOOP
    FOR j IN 1 .. 1 + floor(random() * 4)::int LOOP
      CALL random_statement();
    END LOOP;
    IF random() < 0.2 THEN ROLLBACK; ELSE COMMIT; END IF;
    INSERT INTO failures SELECT i, * FROM mismatches();
    COMMIT;
  END LOOP;
END $$;
