-- Retained history: retain_history, AS OF reads (coordinator.as_of and
-- SUBSCRIBE's as_of), compaction of since, read holds.
CREATE TABLE acct (id int, owner text, balance numeric);
INSERT INTO acct SELECT g, 'o' || (g % 3), g * 10 FROM generate_series(1, 9) g;
CREATE MATERIALIZED VIEW rich WITH (incremental, retain_history = '1 hour') AS
  SELECT id, owner, balance FROM acct WHERE balance >= 50;
CREATE MATERIALIZED VIEW per_owner WITH (incremental, retain_history = '1 hour') AS
  SELECT owner, count(*) AS n, sum(balance) AS total FROM acct GROUP BY owner;
CREATE MATERIALIZED VIEW plain_default WITH (incremental) AS SELECT id FROM acct;
SELECT name, retain_history FROM coordinator.objects
 WHERE name::text IN ('rich', 'per_owner', 'plain_default') ORDER BY 1;

-- the option is checked
CREATE MATERIALIZED VIEW bad WITH (incremental, retain_history = '-1 hour') AS SELECT * FROM acct;
CREATE MATERIALIZED VIEW bad WITH (retain_history = '1 hour') AS SELECT * FROM acct;
CREATE MATERIALIZED VIEW bad WITH (incremental, retain_history = 'soon') AS SELECT * FROM acct;
SELECT coordinator.set_retain_history('acct', '1 hour');
SELECT coordinator.set_retain_history('rich', '-1 second');

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

-- Wait (at most 30 s) until the condition holds: a bounded poll.
CREATE FUNCTION wait_for(cond text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
  ok bool;
BEGIN
  FOR i IN 1 .. 300 LOOP
    EXECUTE 'SELECT ' || cond INTO ok;
    IF ok THEN
      RETURN true;
    END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
  RETURN false;
END $$;

-- The contents at t0 and at wall time w0, saved.
CREATE TABLE rich_t0 AS SELECT * FROM rich;
CREATE TABLE per_owner_t0 AS SELECT * FROM per_owner;
SELECT coordinator.last_read_timestamp() AS t0 \gset
SELECT clock_timestamp() AS w0 \gset

-- Changes: updates, a delete, duplicates, a rolled-back and a
-- multi-statement transaction.
UPDATE acct SET balance = balance + 100 WHERE id <= 2;
DELETE FROM acct WHERE id = 9;
INSERT INTO acct VALUES (10, 'o1', 70), (10, 'o1', 70);
BEGIN;
DELETE FROM acct;
ROLLBACK;
BEGIN;
UPDATE acct SET owner = 'o9' WHERE id = 5;
INSERT INTO acct VALUES (11, 'o9', 1);
COMMIT;
CREATE TABLE rich_t1 AS SELECT * FROM rich;
SELECT coordinator.last_read_timestamp() AS t1 \gset
SELECT count(*) AS rows_now, (SELECT count(*) FROM rich_t0) AS rows_at_t0 FROM rich_t1;

-- AS OF t0 and AS OF w0 give the contents at t0; AS OF t1 the current ones.
SELECT (SELECT count(*) FROM (SELECT * FROM rich_t0 EXCEPT ALL
                              SELECT * FROM coordinator.as_of(NULL::rich, :t0)) x) AS missing,
       (SELECT count(*) FROM (SELECT * FROM coordinator.as_of(NULL::rich, :t0) EXCEPT ALL
                              SELECT * FROM rich_t0) x) AS extra;
SELECT (SELECT count(*) FROM (SELECT * FROM per_owner_t0 EXCEPT ALL
                              SELECT * FROM coordinator.as_of(NULL::per_owner, :t0)) x) AS missing,
       (SELECT count(*) FROM (SELECT * FROM coordinator.as_of(NULL::per_owner, :t0) EXCEPT ALL
                              SELECT * FROM per_owner_t0) x) AS extra;
SELECT (SELECT count(*) FROM (SELECT * FROM rich_t0 EXCEPT ALL
                              SELECT * FROM coordinator.as_of(NULL::rich, :'w0'::timestamptz)) x) AS missing,
       (SELECT count(*) FROM (SELECT * FROM coordinator.as_of(NULL::rich, :'w0'::timestamptz) EXCEPT ALL
                              SELECT * FROM rich_t0) x) AS extra;
SELECT (SELECT count(*) FROM (SELECT * FROM rich_t1 EXCEPT ALL
                              SELECT * FROM coordinator.as_of(NULL::rich, :t1)) x) AS missing,
       (SELECT count(*) FROM (SELECT * FROM coordinator.as_of(NULL::rich, :t1) EXCEPT ALL
                              SELECT * FROM rich_t1) x) AS extra;

-- A query over two views as of one time.
SELECT r.owner, count(*) AS rich, p.n, p.total
  FROM coordinator.as_of(NULL::rich, :t0) r
  JOIN coordinator.as_of(NULL::per_owner, :t0) p USING (owner)
 GROUP BY r.owner, p.n, p.total ORDER BY 1;

-- SUBSCRIBE as of t0: the snapshot at t0, then the changes up to t1.
CREATE TEMP TABLE sub_rows AS
  SELECT coordinator.subscribe('rich', as_of => :t0, up_to => :t1 + 1);
SELECT mz_diff, id, owner, balance, mz_timestamp = :t0 AS at_t0,
       mz_timestamp > :t0 AND mz_timestamp <= :t1 AS after_t0
  FROM sub_rows ORDER BY at_t0 DESC, id, mz_diff;
-- replayed, they give the contents at t1
WITH net AS (SELECT id, owner, balance, sum(mz_diff) AS n FROM sub_rows GROUP BY 1, 2, 3),
     replayed AS (SELECT id, owner, balance FROM net, generate_series(1, n::int) WHERE n > 0)
SELECT (SELECT bool_and(n >= 0) FROM net) AS never_negative,
       (SELECT count(*) FROM (SELECT * FROM replayed EXCEPT ALL SELECT * FROM rich_t1) a) +
       (SELECT count(*) FROM (SELECT * FROM rich_t1 EXCEPT ALL SELECT * FROM replayed) b) AS differ;

-- Errors: before since, not a maintained view, NULL, the future, privileges.
SELECT expect_error($$SELECT * FROM coordinator.as_of(NULL::rich, 1)$$);
SELECT expect_error($$SELECT coordinator.subscribe_open('rich', as_of => 1)$$);
SELECT * FROM coordinator.as_of(NULL::acct, 1);
SELECT * FROM coordinator.as_of(NULL::rich, NULL::bigint);
SELECT expect_error($$SELECT * FROM coordinator.as_of(NULL::rich, 9223372036854775807)$$);
SELECT * FROM coordinator.as_of(NULL::rich, now() + interval '1 hour');
CREATE ROLE history_reader;
GRANT USAGE ON SCHEMA public TO history_reader;
SET ROLE history_reader;
SELECT * FROM coordinator.as_of(NULL::rich, :t0);
SELECT coordinator.set_retain_history('rich', '1 day');
RESET ROLE;

-- A tick that applied two transactions together: times between them are
-- not known.
SELECT coordinator.debug_pause_workers(true);
UPDATE acct SET balance = balance + 1 WHERE id = 6;
SELECT coordinator.oracle_timestamp() AS c1 \gset
UPDATE acct SET balance = balance + 1 WHERE id = 7;
SELECT coordinator.oracle_timestamp() AS c2 \gset
SELECT coordinator.debug_pause_workers(false);
SELECT count(*) FROM rich;
SELECT expect_error(format('SELECT * FROM coordinator.as_of(NULL::rich, %s)', :c1));
SELECT count(*) AS before_both FROM coordinator.as_of(NULL::rich, :c1 - 1) WHERE id IN (6, 7) AND balance % 10 = 1;
SELECT count(*) AS after_both FROM coordinator.as_of(NULL::rich, :c2) WHERE id IN (6, 7) AND balance % 10 = 1;

-- Read holds: a REPEATABLE READ transaction's time and an AS OF read,
-- until the transaction ends (commit, or abort).
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) > 0 FROM rich;
SELECT count(*) FROM coordinator.as_of(NULL::per_owner, :t0);
SELECT object, kind, ts = :t0 AS at_t0 FROM coordinator.read_holds
 WHERE pid = pg_backend_pid() ORDER BY 1, 2;
COMMIT;
SELECT count(*) AS holds FROM coordinator.read_holds WHERE pid = pg_backend_pid();
BEGIN;
SELECT count(*) FROM coordinator.as_of(NULL::rich, :t0);
SELECT 1 / 0;
ROLLBACK;
SELECT count(*) AS holds FROM coordinator.read_holds WHERE pid = pg_backend_pid();

-- Compaction: with no history kept, since moves to the latest change and
-- the older history is gone; keeping more later does not bring it back.
SELECT count(*) > 0 AS has_history FROM coordinator.history WHERE relid = 'rich'::regclass;
SELECT coordinator.set_retain_history('rich', '0 seconds');
SELECT wait_for(format('(SELECT since > %s FROM coordinator.frontiers WHERE object = %L::regclass)', :t0, 'rich')) AS since_passed;
SELECT expect_error(format('SELECT * FROM coordinator.as_of(NULL::rich, %s)', :t0));
SELECT coordinator.set_retain_history('rich', '1 hour');
SELECT expect_error(format('SELECT * FROM coordinator.as_of(NULL::rich, %s)', :t0));
SELECT wait_for($$NOT EXISTS (SELECT FROM coordinator.history WHERE relid = 'rich'::regclass)$$) AS history_gone;
SELECT (SELECT count(*) FROM (SELECT * FROM rich EXCEPT ALL
                              SELECT * FROM coordinator.as_of(NULL::rich, coordinator.last_read_timestamp())) x) AS missing;

-- DROP removes a view's history.
SELECT 'per_owner'::regclass::oid AS per_owner_oid \gset
DROP MATERIALIZED VIEW per_owner;
SELECT count(*) AS history_rows FROM coordinator.history WHERE relid = :per_owner_oid;
DROP MATERIALIZED VIEW rich, plain_default;
DROP TABLE acct, rich_t0, rich_t1, per_owner_t0;
REVOKE USAGE ON SCHEMA public FROM history_reader;
DROP ROLE history_reader;
