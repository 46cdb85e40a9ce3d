-- Least privilege: code a role wrote runs with that role's rights wherever
-- the coordinator's processes run it: a maintained view's functions as the
-- view's owner, a query subscription's as the subscriber, in a
-- security-restricted operation, with settings that end with the call and
-- triggers that fire before it ends.  lp.record() logs who runs it and
-- whether it could read a file only superusers may read.

CREATE ROLE lp_user;
CREATE ROLE lp_other;
CREATE ROLE lp_stats IN ROLE pg_read_all_stats;
CREATE SCHEMA lp;
GRANT USAGE ON SCHEMA lp TO lp_user, lp_other, lp_stats;
GRANT CREATE ON SCHEMA lp TO lp_user;
CREATE TABLE lp.log (what text, runs_as name, session_superuser bool, read_file text);
GRANT SELECT, INSERT ON lp.log TO PUBLIC;
CREATE FUNCTION lp.record(what text) RETURNS void VOLATILE LANGUAGE plpgsql AS $$
DECLARE
  outcome text;
BEGIN
  BEGIN
    PERFORM pg_catalog.pg_read_file('postgresql.conf', 0, 1);
    outcome := 'read';
  EXCEPTION WHEN insufficient_privilege THEN
    outcome := 'denied';
  END;
  INSERT INTO lp.log
       SELECT what, current_user, r.rolsuper, outcome
         FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) session_user;
END $$;
CREATE TABLE lp.t (id int);
ALTER TABLE lp.t REPLICA IDENTITY FULL;
INSERT INTO lp.t VALUES (1), (2);
GRANT SELECT ON lp.t TO lp_user;

-- lp_user's IMMUTABLE function, which calls the logger with what to log
SET ROLE lp_user;
CREATE FUNCTION lp.evil(what text, x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lp.record(what);
  RETURN x;
END $$;
RESET ROLE;

-- a maintained view: its owner
SET ROLE lp_user;
CREATE MATERIALIZED VIEW lp.v WITH (incremental) AS
    SELECT lp.evil('view', id) AS id FROM lp.t;
RESET ROLE;
SELECT * FROM lp.v ORDER BY id;
SELECT DISTINCT * FROM lp.log ORDER BY 1;
TRUNCATE lp.log;

-- a query subscription: its subscriber, at the hydration and at each tick
SET ROLE lp_user;
SELECT coordinator.subscribe_open($$SELECT lp.evil('subscription', id) AS id FROM lp.t$$,
                                  snapshot => false) AS sub \gset
RESET ROLE;
SELECT DISTINCT * FROM lp.log ORDER BY 1;
TRUNCATE lp.log;
INSERT INTO lp.t VALUES (3);
SET ROLE lp_user;
CREATE TEMP TABLE fetched AS SELECT coordinator.subscribe_fetch(:sub, 100, '10s');
SELECT mz_diff, id FROM fetched;
DROP TABLE fetched;
RESET ROLE;
SELECT DISTINCT * FROM lp.log ORDER BY 1;
TRUNCATE lp.log;

-- what a subscription reads shows only to its subscriber and to roles with
-- the privileges of pg_read_all_stats, in the function as in the view
SET ROLE lp_user;
SELECT coordinator.subscribe_open('lp.v') AS vsub \gset
SELECT name, relid::regclass FROM coordinator.subscription_status() WHERE id = :vsub;
SELECT object FROM coordinator.subscriptions WHERE id = :vsub;
SET ROLE lp_other;
SELECT name, relid::regclass, kind FROM coordinator.subscription_status() WHERE id = :vsub;
SELECT object, kind FROM coordinator.subscriptions WHERE id = :vsub;
SET ROLE lp_stats;
SELECT name, relid::regclass FROM coordinator.subscription_status() WHERE id = :vsub;
SELECT object FROM coordinator.subscriptions WHERE id = :vsub;
SET ROLE lp_user;
SELECT coordinator.subscribe_close(:vsub);
RESET ROLE;

-- the subscriber's rights: a REVOKE ends the subscription with 42501
REVOKE SELECT ON lp.t FROM lp_user;
INSERT INTO lp.t VALUES (4);
SET ROLE lp_user;
SELECT coordinator.subscribe_fetch(:sub, 100, '10s');
SELECT coordinator.subscribe_close(:sub);
RESET ROLE;
GRANT SELECT ON lp.t TO lp_user;
TRUNCATE lp.log;

-- EXECUTE on the query's functions, checked as the subscriber
CREATE FUNCTION lp.private(x int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT x';
REVOKE EXECUTE ON FUNCTION lp.private(int) FROM PUBLIC;
SET ROLE lp_user;
SELECT coordinator.subscribe_open('SELECT lp.private(id) AS id FROM lp.t');
RESET ROLE;

-- settings that one view's code changes end with it: they reach neither
-- the next tick nor other views (set_config of search_path here)
CREATE TABLE lp.one (id int);
ALTER TABLE lp.one REPLICA IDENTITY FULL;
INSERT INTO lp.one VALUES (1);
GRANT SELECT ON lp.one TO lp_user;
SET ROLE lp_user;
CREATE FUNCTION lp.path_then_set(x int) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
DECLARE
  path text := pg_catalog.current_setting('search_path');
BEGIN
  PERFORM pg_catalog.set_config('search_path', 'lp, pg_catalog', false);
  RETURN path;
END $$;
CREATE MATERIALIZED VIEW lp.paths WITH (incremental) AS
    SELECT id, lp.path_then_set(id) AS search_path FROM lp.one;
RESET ROLE;
SELECT * FROM lp.paths ORDER BY id;
INSERT INTO lp.one VALUES (2);
SELECT * FROM lp.paths ORDER BY id;

-- a deferred trigger that the view's code queues would fire at the worker's
-- commit with the worker's rights: Postgres refuses to queue it in the
-- security-restricted operation, so the view fails and nothing runs
CREATE TABLE lp.queued (what text);
ALTER TABLE lp.queued OWNER TO lp_user;
SET ROLE lp_user;
CREATE FUNCTION lp.queued_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lp.record(NEW.what);
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER queued_deferred AFTER INSERT ON lp.queued
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION lp.queued_trigger();
CREATE FUNCTION lp.enqueue(what text) RETURNS void VOLATILE LANGUAGE sql
    AS 'INSERT INTO lp.queued VALUES (what)';
CREATE FUNCTION lp.queue(what text, x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lp.enqueue(what);
  RETURN x;
END $$;
CREATE MATERIALIZED VIEW lp.deferred WITH (incremental) AS
    SELECT lp.queue('deferred trigger', id) AS id FROM lp.one;
RESET ROLE;
SELECT count(*) FROM lp.deferred;
SELECT count(*) AS queued FROM lp.queued;
-- (lp.v may log again meanwhile, as the GRANT above brings it back)
SELECT DISTINCT * FROM lp.log WHERE what = 'deferred trigger' ORDER BY 1;

-- why a worker last exited: an ERROR's message may quote a view's data, so
-- it shows to roles with the privileges of pg_read_all_stats only
SELECT coordinator.debug_inject_error(0);
INSERT INTO lp.one VALUES (3);
SELECT count(*) FROM lp.paths;
SET ROLE lp_other;
SELECT last_exit FROM coordinator.workers;
SET ROLE lp_stats;
SELECT last_exit LIKE 'error: %injected by coordinator.debug_inject_error' AS shown
  FROM coordinator.workers;
RESET ROLE;

DROP SCHEMA lp CASCADE;
DROP ROLE lp_user, lp_other, lp_stats;
