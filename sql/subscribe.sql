-- SUBSCRIBE: snapshot, consolidated changes per timestamp, progress,
-- as_of / up_to, upsert envelope, queries, privileges, ends.
CREATE SCHEMA sub;
SET search_path = sub, public;
CREATE TABLE items (k int, v text);
ALTER TABLE items REPLICA IDENTITY FULL;
INSERT INTO items VALUES (1, 'a'), (1, 'a'), (2, 'b'), (3, 'c');
CREATE TABLE other (x int);
ALTER TABLE other REPLICA IDENTITY FULL;
CREATE MATERIALIZED VIEW rows_v WITH (incremental) AS SELECT k, v FROM items;
CREATE MATERIALIZED VIEW agg_v WITH (incremental) AS
  SELECT k, count(*) AS n, string_agg(v, ',' ORDER BY v) AS vs FROM items GROUP BY k;
CREATE MATERIALIZED VIEW top_v WITH (incremental) AS
  SELECT k, v FROM items ORDER BY k DESC, v LIMIT 1;

-- Fetch from a polling subscription into comparable rows: t numbers the
-- distinct timestamps of what this helper has fetched so far (0 = the
-- snapshot's), and it checks that timestamps never decrease.
CREATE TEMP TABLE seen (id bigint PRIMARY KEY, last_ts bigint, t int);
CREATE FUNCTION fetch_rows(id bigint, n int DEFAULT 1000, wait interval DEFAULT '10s')
RETURNS TABLE (t int, progressed bool, diff bigint, data jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  j jsonb;
  s record;
BEGIN
  INSERT INTO seen VALUES (id, NULL, -1) ON CONFLICT DO NOTHING;
  FOR r IN EXECUTE format('SELECT coordinator.subscribe_fetch(%s, %s, %L)', id, n, wait) LOOP
    j := to_jsonb(r);
    SELECT * INTO s FROM seen WHERE seen.id = fetch_rows.id;
    IF s.last_ts IS NOT NULL AND (j->>'mz_timestamp')::bigint < s.last_ts THEN
      RAISE EXCEPTION 'mz_timestamp went back from % to %', s.last_ts, j->>'mz_timestamp';
    END IF;
    IF s.last_ts IS DISTINCT FROM (j->>'mz_timestamp')::bigint THEN
      UPDATE seen SET last_ts = (j->>'mz_timestamp')::bigint, t = seen.t + 1
       WHERE seen.id = fetch_rows.id;
    END IF;
    t := (SELECT seen.t FROM seen WHERE seen.id = fetch_rows.id);
    progressed := (j->>'mz_progressed')::bool;
    diff := (j->>'mz_diff')::bigint;
    data := j - 'mz_timestamp' - 'mz_progressed' - 'mz_diff';
    RETURN NEXT;
  END LOOP;
END $$;

-- the snapshot: one row per distinct row, its multiplicity as mz_diff
SELECT coordinator.subscribe_open('rows_v') AS s1 \gset
SELECT * FROM fetch_rows(:s1);
-- typed columns, no column definition list: the row type of the result
SELECT coordinator.subscribe_open('rows_v', snapshot => false) AS s0 \gset
CREATE TEMP TABLE shape AS SELECT coordinator.subscribe_fetch(:s0, 0, '0s');
SELECT attname, atttypid::regtype FROM pg_attribute
 WHERE attrelid = 'shape'::regclass AND attnum > 0 ORDER BY attnum;
SELECT coordinator.subscribe_close(:s0);
-- replaying the snapshot's diffs gives the view (EXCEPT ALL both ways)
SELECT coordinator.subscribe_open('rows_v') AS s0 \gset
CREATE TEMP TABLE snap AS SELECT coordinator.subscribe_fetch(:s0, 100, '10s');
SELECT count(*) AS missing FROM (
  (SELECT k, v FROM rows_v EXCEPT ALL
   SELECT k, v FROM snap, generate_series(1, mz_diff))
  UNION ALL
  (SELECT k, v FROM snap, generate_series(1, mz_diff) EXCEPT ALL
   SELECT k, v FROM rows_v)) d;
SELECT count(DISTINCT mz_timestamp) AS snapshot_timestamps FROM snap;

-- an UPDATE arrives as a retraction and an insertion at one timestamp
UPDATE items SET v = 'b2' WHERE k = 2;
SELECT * FROM fetch_rows(:s1);
-- one transaction, several changes: one timestamp, consolidated
BEGIN;
INSERT INTO items VALUES (4, 'd');
DELETE FROM items WHERE k = 4;
INSERT INTO items VALUES (1, 'a');
COMMIT;
SELECT * FROM fetch_rows(:s1);

-- an aggregate's update: retraction and insertion of the group's row
SELECT coordinator.subscribe_open('agg_v', snapshot => false) AS s2 \gset
INSERT INTO items VALUES (3, 'z');
SELECT * FROM fetch_rows(:s2);

-- top-k: an irrelevant insert says nothing, a relevant one retracts the
-- old top row
SELECT coordinator.subscribe_open('top_v') AS s3 \gset
SELECT * FROM fetch_rows(:s3);
INSERT INTO items VALUES (0, 'low');
SELECT * FROM fetch_rows(:s3, 1000, '1s');
INSERT INTO items VALUES (9, 'high');
SELECT * FROM fetch_rows(:s3);

-- progress: the first row says the snapshot is complete; a write to
-- another table moves time on without changing the view
SELECT coordinator.subscribe_open('top_v', snapshot => false, progress => true) AS s4 \gset
SELECT t, progressed, diff FROM fetch_rows(:s4, 1) ;
INSERT INTO other VALUES (1);
SELECT bool_and(progressed) AS only_progress, count(*) > 0 AS some
  FROM fetch_rows(:s4, 1000, '2s');

-- as_of and up_to (numbers masked in errors)
CREATE FUNCTION expect_error(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  m text; d text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
  RETURN SQLSTATE || ': ' || regexp_replace(m || coalesce(E'\n' || d, ''),
    '[0-9]+ \([^)]*\)|[0-9]+', '<n>', 'g');
END $$;
SELECT expect_error($$SELECT coordinator.subscribe_open('rows_v', as_of => 1)$$);
SELECT coordinator.subscribe_open('rows_v', as_of => 10, up_to => 5);
SELECT expect_error($$SELECT coordinator.subscribe_open('rows_v', up_to => 1)$$);
SELECT coordinator.subscribe_open('rows_v', as_of => 100000000000, up_to => 100000000000) AS s5 \gset
SELECT * FROM fetch_rows(:s5, 10, '0s');
-- up_to: the subscription ends once everything before it was sent
SELECT coordinator.oracle_timestamp() + 1 AS upto \gset
SELECT coordinator.subscribe_open('rows_v', up_to => :upto) AS s6 \gset
INSERT INTO items VALUES (7, 'after up_to');
SELECT count(*) > 0 AS snapshot_rows, bool_and(t = 0) AS all_at_as_of FROM fetch_rows(:s6);
SELECT count(*) AS after_end FROM fetch_rows(:s6, 1000, '0s');

-- a query, and a plain table: transient dataflows
SELECT coordinator.subscribe_open('SELECT k, count(*) AS n FROM items WHERE k < 3 GROUP BY k') AS s7 \gset
SELECT * FROM fetch_rows(:s7);
DELETE FROM items WHERE k = 2;
SELECT * FROM fetch_rows(:s7);
SELECT coordinator.subscribe_open('other', snapshot => true) AS s8 \gset
SELECT * FROM fetch_rows(:s8);
INSERT INTO other VALUES (2), (2);
SELECT * FROM fetch_rows(:s8);
SELECT kind, object, state FROM coordinator.subscriptions WHERE id IN (:s7, :s8) ORDER BY id;

-- the upsert envelope keyed by k
SELECT coordinator.subscribe_open('agg_v', upsert_key => '{k}') AS s9 \gset
SELECT * FROM fetch_rows(:s9);
UPDATE items SET v = 'y' WHERE k = 3 AND v = 'z';
SELECT * FROM fetch_rows(:s9);
DELETE FROM items WHERE k = 0;
SELECT * FROM fetch_rows(:s9);
SELECT coordinator.subscribe_open('agg_v', upsert_key => '{nope}');

-- refused shapes and arguments
SELECT * FROM coordinator.subscribe('rows_v') AS s(a bigint, b bigint, k int, v text);
SELECT coordinator.subscribe_open('DELETE FROM items');
SELECT coordinator.subscribe_open('SELECT now(), k FROM items');
SELECT coordinator.subscribe_open('no_such_view');
SELECT coordinator.subscribe_fetch(123456);

-- privileges: SELECT on what is read
CREATE ROLE sub_reader;
GRANT USAGE ON SCHEMA sub TO sub_reader;
SET ROLE sub_reader;
SELECT coordinator.subscribe_open('rows_v');
SELECT coordinator.subscribe_open('SELECT k FROM items');
RESET ROLE;

-- a slow subscriber gets a bounded buffer, then an error
SET coordinator.subscribe_buffer_limit = '64kB';
SELECT coordinator.subscribe_open('rows_v', snapshot => false) AS s10 \gset
RESET coordinator.subscribe_buffer_limit;
INSERT INTO items SELECT 100, repeat('x', 200) || g FROM generate_series(1, 20000) g;
DO $$
BEGIN
  FOR i IN 1..200 LOOP
    EXIT WHEN (SELECT state FROM coordinator.subscriptions
                WHERE id = (SELECT max(id) FROM coordinator.subscriptions)) = 'ended';
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT count(*) FROM fetch_rows(:s10);
DELETE FROM items WHERE k = 100;

-- DROP of the view ends the subscription with an error naming it
CREATE MATERIALIZED VIEW doomed WITH (incremental) AS SELECT k FROM items;
SELECT coordinator.subscribe_open('doomed') AS s11 \gset
SELECT count(*) FROM fetch_rows(:s11);
DROP MATERIALIZED VIEW doomed;
SELECT count(*) FROM fetch_rows(:s11);

-- the streaming form, in a cursor: rows as they come, typed
BEGIN;
DECLARE c CURSOR FOR SELECT coordinator.subscribe('agg_v');
FETCH 1 FROM c \gset
SELECT :'mz_diff' AS diff, :'k' AS k, :'n' AS n;
CLOSE c;
COMMIT;
SET statement_timeout = '200ms';
BEGIN;
DECLARE c CURSOR FOR SELECT coordinator.subscribe('agg_v', snapshot => false);
FETCH 1 FROM c;
ROLLBACK;
RESET statement_timeout;

-- closing, and what is left
SELECT coordinator.subscribe_close(id) FROM coordinator.subscriptions
 WHERE pid = pg_backend_pid() ORDER BY id;
SELECT count(*) AS open FROM coordinator.subscriptions;
DROP SCHEMA sub CASCADE;
DROP ROLE sub_reader;
