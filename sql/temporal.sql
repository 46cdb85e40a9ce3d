-- Temporal filters: now() (and CURRENT_TIMESTAMP, transaction_timestamp(),
-- CURRENT_DATE, LOCALTIMESTAMP) compared with a row expression in WHERE
-- means the view's own time: rows enter and leave as it passes.
CREATE SCHEMA temporal;
SET search_path = temporal, public;
-- the views read CURRENT_DATE and LOCALTIMESTAMP, and cast dates, in the
-- server's TimeZone (docs/views.md); so do the queries they are compared
-- with here, whatever the session's
SELECT set_config('TimeZone', COALESCE((SELECT setting FROM pg_file_settings
  WHERE name = 'timezone' AND applied ORDER BY seqno DESC LIMIT 1), 'GMT'), false) IS NOT NULL
  AS server_time_zone;
CREATE TABLE ev (id int PRIMARY KEY, ts timestamptz, d date, g int);
CREATE TABLE grp (g int PRIMARY KEY, name text);
ALTER TABLE ev REPLICA IDENTITY FULL;
ALTER TABLE grp REPLICA IDENTITY FULL;
INSERT INTO grp SELECT g, 'g' || g FROM generate_series(0, 4) g;
-- times at least 5 minutes from every bound (now, an hour ago, a day ago)
CREATE FUNCTION at_offset(n int) RETURNS timestamptz LANGUAGE sql AS
  $$ SELECT now() + (n + 0.5) * interval '10 minutes' $$;
INSERT INTO ev SELECT i, at_offset(i % 25 - 12), (now() + (i % 7 - 3) * interval '1 day')::date, i % 5
  FROM generate_series(1, 200) i;

CREATE MATERIALIZED VIEW last_hour WITH (incremental) AS
  SELECT id, g FROM ev WHERE ts > now() - interval '1 hour' AND ts <= now();
CREATE MATERIALIZED VIEW per_group WITH (incremental) AS
  SELECT g, count(*) AS n, max(ts) AS latest FROM ev
  WHERE ts BETWEEN CURRENT_TIMESTAMP - interval '1 hour' AND CURRENT_TIMESTAMP GROUP BY g;
CREATE MATERIALIZED VIEW upcoming WITH (incremental) AS
  SELECT e.id, grp.name FROM ev e JOIN grp USING (g) WHERE now() < e.ts;
CREATE MATERIALIZED VIEW recent_days WITH (incremental) AS
  SELECT id FROM ev WHERE d >= CURRENT_DATE - 1 AND d < CURRENT_DATE + 2;
CREATE MATERIALIZED VIEW month_ahead WITH (incremental) AS
  SELECT id FROM ev WHERE ts + interval '1 month' > now() + interval '1 month 30 minutes';
CREATE MATERIALIZED VIEW local_recent WITH (incremental) AS
  SELECT id FROM ev WHERE ts::timestamp >= LOCALTIMESTAMP - interval '30 minutes';
-- with history: AS OF reads and SUBSCRIBE see rows leave at their times
CREATE MATERIALIZED VIEW hist_window WITH (incremental, retain_history = '1 hour') AS
  SELECT id FROM ev WHERE ts > now() - interval '1 hour' AND ts <= now();

-- each view equals its query, evaluated now
CREATE FUNCTION mismatches() RETURNS TABLE (view text, missing bigint, extra bigint)
LANGUAGE sql AS $$
  SELECT 'last_hour',
    (SELECT count(*) FROM (SELECT id, g FROM ev WHERE ts > now() - interval '1 hour' AND ts <= now()
                           EXCEPT ALL SELECT * FROM last_hour) x),
    (SELECT count(*) FROM (SELECT * FROM last_hour EXCEPT ALL
                           SELECT id, g FROM ev WHERE ts > now() - interval '1 hour' AND ts <= now()) x)
  UNION ALL SELECT 'per_group',
    (SELECT count(*) FROM (SELECT g, count(*), max(ts) FROM ev
                           WHERE ts BETWEEN now() - interval '1 hour' AND now() GROUP BY g
                           EXCEPT ALL SELECT * FROM per_group) x),
    (SELECT count(*) FROM (SELECT * FROM per_group EXCEPT ALL
                           SELECT g, count(*), max(ts) FROM ev
                           WHERE ts BETWEEN now() - interval '1 hour' AND now() GROUP BY g) x)
  UNION ALL SELECT 'upcoming',
    (SELECT count(*) FROM (SELECT e.id, grp.name FROM ev e JOIN grp USING (g) WHERE now() < e.ts
                           EXCEPT ALL SELECT * FROM upcoming) x),
    (SELECT count(*) FROM (SELECT * FROM upcoming EXCEPT ALL
                           SELECT e.id, grp.name FROM ev e JOIN grp USING (g) WHERE now() < e.ts) x)
  UNION ALL SELECT 'recent_days',
    (SELECT count(*) FROM (SELECT id FROM ev WHERE d >= CURRENT_DATE - 1 AND d < CURRENT_DATE + 2
                           EXCEPT ALL SELECT * FROM recent_days) x),
    (SELECT count(*) FROM (SELECT * FROM recent_days EXCEPT ALL
                           SELECT id FROM ev WHERE d >= CURRENT_DATE - 1 AND d < CURRENT_DATE + 2) x)
  UNION ALL SELECT 'month_ahead',
    (SELECT count(*) FROM (SELECT id FROM ev WHERE ts + interval '1 month' > now() + interval '1 month 30 minutes'
                           EXCEPT ALL SELECT * FROM month_ahead) x),
    (SELECT count(*) FROM (SELECT * FROM month_ahead EXCEPT ALL
                           SELECT id FROM ev WHERE ts + interval '1 month' > now() + interval '1 month 30 minutes') x)
  UNION ALL SELECT 'local_recent',
    (SELECT count(*) FROM (SELECT id FROM ev WHERE ts::timestamp >= LOCALTIMESTAMP - interval '30 minutes'
                           EXCEPT ALL SELECT * FROM local_recent) x),
    (SELECT count(*) FROM (SELECT * FROM local_recent EXCEPT ALL
                           SELECT id FROM ev WHERE ts::timestamp >= LOCALTIMESTAMP - interval '30 minutes') x)
$$;
SELECT * FROM mismatches() WHERE missing <> 0 OR extra <> 0;
SELECT (SELECT count(*) FROM last_hour) > 0 AS some_recent,
       (SELECT count(*) FROM upcoming) > 0 AS some_upcoming;

-- random rounds: inserts, updates that move rows in and out of the
-- windows, deletes, a rolled-back transaction, a multi-statement one
SELECT setseed(0.24);
DO $$
DECLARE
  bad int;
BEGIN
  FOR round IN 1 .. 8 LOOP
    INSERT INTO ev SELECT 1000 * round + i, at_offset((random() * 24)::int - 12),
                          (now() + ((random() * 6)::int - 3) * interval '1 day')::date, (random() * 4)::int
      FROM generate_series(1, 20) i;
    UPDATE ev SET ts = at_offset((random() * 24)::int - 12) WHERE id % 9 = round % 9;
    UPDATE ev SET g = (g + 1) % 5, d = d + 1 WHERE id % 11 = round % 11;
    DELETE FROM ev WHERE id % 13 = round % 13;
    BEGIN
      UPDATE ev SET ts = at_offset(0) WHERE id % 3 = 0;
      RAISE EXCEPTION 'roll back';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
  END LOOP;
END $$;
SELECT * FROM mismatches() WHERE missing <> 0 OR extra <> 0;
BEGIN;
UPDATE ev SET ts = at_offset(-3) WHERE id % 4 = 0;
INSERT INTO ev VALUES (9001, at_offset(-1), CURRENT_DATE, 1), (9002, at_offset(2), CURRENT_DATE, 2);
DELETE FROM ev WHERE id % 4 = 1;
COMMIT;
SELECT * FROM mismatches() WHERE missing <> 0 OR extra <> 0;

-- time passing: a row that leaves the last hour in 2 seconds and one that
-- enters it in 2 seconds.  A strict read once the wall clock has passed
-- their time sees them gone and come, without waiting for a write.
INSERT INTO ev VALUES (9100, now() - interval '1 hour' + interval '2 seconds', CURRENT_DATE, 0),
                      (9101, now() + interval '2 seconds', CURRENT_DATE, 0);
SELECT array_agg(id ORDER BY id) AS before FROM last_hour WHERE id >= 9100;
SELECT array_agg(id ORDER BY id) AS before FROM hist_window WHERE id >= 9100;
SELECT coordinator.last_read_timestamp() AS t_before \gset
SELECT coordinator.subscribe_open('temporal.hist_window', snapshot => false) AS sub \gset
SET temporal.sub = :sub;
SELECT pg_sleep_until(max(ts) + interval '10 milliseconds') FROM ev WHERE id = 9101;
SELECT array_agg(id ORDER BY id) AS after FROM last_hour WHERE id >= 9100;
SELECT array_agg(id ORDER BY id) AS after FROM hist_window WHERE id >= 9100;
SELECT array_agg(id ORDER BY id) AS as_of_before
  FROM coordinator.as_of(NULL::hist_window, :t_before) WHERE id >= 9100;
-- the subscription: 9100 leaves, 9101 enters, at later times than t_before
CREATE TEMP TABLE changes (id int, diff bigint, ts numeric);
DO $$
DECLARE
  j jsonb;
BEGIN
  FOR attempt IN 1 .. 20 LOOP
    EXIT WHEN (SELECT count(*) FROM changes) >= 2;
    FOR j IN EXECUTE format('SELECT to_jsonb(r) FROM (SELECT coordinator.subscribe_fetch(%s, 100, %L) AS r) f',
                            current_setting('temporal.sub'), '1s') LOOP
      IF NOT coalesce((j ->> 'mz_progressed')::bool, false) AND (j ->> 'id')::int >= 9100 THEN
        INSERT INTO changes VALUES ((j ->> 'id')::int, (j ->> 'mz_diff')::bigint,
                                    (j ->> 'mz_timestamp')::numeric);
      END IF;
    END LOOP;
  END LOOP;
END $$;
SELECT id, diff, ts > :t_before AS after_t_before FROM changes ORDER BY id;
SELECT coordinator.subscribe_close(:sub);
SELECT count(*) = 1 AS current FROM per_group WHERE g = 0 AND n = (SELECT count(*) FROM ev
  WHERE g = 0 AND ts BETWEEN now() - interval '1 hour' AND now());

-- the worker holds rows that can still enter or leave: scheduled changes
-- (rows dated in the future: 9002's insertion; rows in the window: their
-- retraction); a deleted row's scheduled changes go with it (figures are
-- published at the end of a tick, after the views: at most 5 s)
SELECT arranged_rows > 0 AS scheduled FROM coordinator.dataflows WHERE object = 'last_hour'::regclass;
DELETE FROM ev;
SELECT count(*) FROM last_hour;
DO $$
BEGIN
  FOR i IN 1 .. 500 LOOP
    EXIT WHEN (SELECT arranged_rows FROM coordinator.dataflows WHERE object = 'last_hour'::regclass) = 0;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
SELECT arranged_rows FROM coordinator.dataflows WHERE object = 'last_hour'::regclass;

-- refused: other uses of the clock, with the form that is supported
\set VERBOSITY terse
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT id FROM ev WHERE ts > now() - interval '1 hour' OR g = 1;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT id, now() FROM ev;
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT id FROM ev WHERE ts = now();
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT id FROM ev WHERE now() - ts < interval '1 hour';
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT id FROM ev WHERE ts > clock_timestamp();
CREATE MATERIALIZED VIEW r WITH (incremental) AS SELECT id FROM ev WHERE ts::time > LOCALTIME;
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT g, max(ts) FROM ev GROUP BY g HAVING max(ts) > now() - interval '1 hour';
CREATE MATERIALIZED VIEW r WITH (incremental) AS
  SELECT id FROM ev e LEFT JOIN LATERAL (SELECT 1 WHERE e.ts > now()) x ON true;
SELECT coordinator.subscribe_open('SELECT id FROM temporal.ev WHERE ts > now()');
\set VERBOSITY default

DROP SCHEMA temporal CASCADE;
RESET search_path;
