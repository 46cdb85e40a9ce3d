-- Security: a maintained view is maintained with its owner's rights, not a
-- superuser's; names resolve as at CREATE whatever search_path says later;
-- a lost right hides the view instead of being bypassed; row-level
-- security applies as to the owner; introspection shows a role only the
-- views it may read.

CREATE ROLE sec_owner;
CREATE ROLE sec_other;
CREATE SCHEMA sec;
GRANT USAGE, CREATE ON SCHEMA sec TO sec_owner;
GRANT USAGE ON SCHEMA sec TO sec_other;
CREATE TABLE sec.accounts (id int, owner text, balance int);
ALTER TABLE sec.accounts REPLICA IDENTITY FULL;
INSERT INTO sec.accounts SELECT g, 'o' || (g % 3), g * 10 FROM generate_series(1, 9) g;
GRANT SELECT ON sec.accounts TO sec_owner;

-- functions in the view run as the view's owner, with search_path
-- pg_catalog, pg_temp (as Postgres 17 runs REFRESH); a SET clause applies
CREATE FUNCTION sec.runs_as(int) RETURNS text IMMUTABLE LANGUAGE plpgsql
    AS $$ BEGIN RETURN current_user || ' / ' || current_setting('search_path'); END $$;
CREATE FUNCTION sec.runs_as_set(int) RETURNS text IMMUTABLE LANGUAGE plpgsql
    SET search_path = sec, pg_catalog
    AS $$ BEGIN RETURN current_setting('search_path'); END $$;
GRANT EXECUTE ON FUNCTION sec.runs_as(int), sec.runs_as_set(int) TO sec_owner;

SET ROLE sec_owner;
CREATE MATERIALIZED VIEW sec.totals WITH (incremental) AS
    SELECT owner, sum(balance) AS total, min(sec.runs_as(id)) AS runs_as,
           min(sec.runs_as_set(id)) AS set_clause
      FROM sec.accounts GROUP BY owner;
SELECT * FROM sec.totals ORDER BY owner;
RESET ROLE;
SELECT owner FROM coordinator.objects WHERE name = 'sec.totals'::regclass;

-- a function that resolves an unqualified name at run time does not find
-- objects that another role put in public: the worker's search_path has no
-- public, so the view fails with the error the function got
CREATE FUNCTION public.sec_helper(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1 * 2';
CREATE FUNCTION sec.unqualified(int) RETURNS int IMMUTABLE LANGUAGE plpgsql
    AS $$ BEGIN RETURN sec_helper($1); END $$;
CREATE MATERIALIZED VIEW sec.hijack WITH (incremental) AS
    SELECT id, sec.unqualified(id) AS doubled FROM sec.accounts WHERE id = 1;
SELECT * FROM sec.hijack;
DROP MATERIALIZED VIEW sec.hijack;

-- a view over a table its creator may not read is refused
SET ROLE sec_other;
CREATE MATERIALIZED VIEW public.peek WITH (incremental) AS SELECT count(*) FROM sec.accounts;
RESET ROLE;

-- REVOKE of the owner's SELECT: reads fail with 42501, for the owner and
-- for a superuser alike, and the view keeps being maintained meanwhile
REVOKE SELECT ON sec.accounts FROM sec_owner;
SELECT owner, total FROM sec.totals ORDER BY owner;
SET ROLE sec_owner;
SELECT owner, total FROM sec.totals ORDER BY owner;
RESET ROLE;
INSERT INTO sec.accounts VALUES (10, 'o0', 1000);
SELECT last_error, last_error_sqlstate FROM coordinator.objects WHERE name = 'sec.totals'::regclass;
-- the right comes back, so do the reads, with the row written meanwhile
GRANT SELECT ON sec.accounts TO sec_owner;
SELECT owner, total FROM sec.totals ORDER BY owner;

-- a role that grants the right loses it: so does the view
CREATE ROLE sec_readers;
GRANT SELECT ON sec.accounts TO sec_readers;
REVOKE SELECT ON sec.accounts FROM sec_owner;
GRANT sec_readers TO sec_owner;
SELECT count(*) FROM sec.totals;
REVOKE sec_readers FROM sec_owner;
SELECT count(*) FROM sec.totals;
GRANT SELECT ON sec.accounts TO sec_owner;

-- row-level security enabled on a source later applies to the owner: the
-- view is built again with the policy, as a REFRESH by its owner would see
-- the table (sql/row_security.sql has more)
ALTER TABLE sec.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_o1 ON sec.accounts USING (owner = 'o1');
SELECT owner, total FROM sec.totals ORDER BY owner;
ALTER TABLE sec.accounts DISABLE ROW LEVEL SECURITY;
SELECT owner, total FROM sec.totals ORDER BY owner;
DROP POLICY only_o1 ON sec.accounts;

-- ALTER ... OWNER TO: the new owner's rights count
ALTER MATERIALIZED VIEW sec.totals OWNER TO sec_other;
SELECT owner FROM coordinator.objects WHERE name = 'sec.totals'::regclass;
SELECT count(*) FROM sec.totals;
GRANT SELECT ON sec.accounts TO sec_other;
SELECT count(*) FROM sec.totals;
REVOKE SELECT ON sec.accounts FROM sec_other;
ALTER MATERIALIZED VIEW sec.totals OWNER TO sec_owner;
SELECT count(*) FROM sec.totals;

-- introspection shows a role only the views it may read
SET ROLE sec_other;
SELECT count(*) AS objects FROM coordinator.objects;
SELECT count(*) AS frontiers FROM coordinator.frontiers;
SELECT count(*) AS lag FROM coordinator.materialization_lag;
SELECT count(*) AS dataflows FROM coordinator.dataflows;
SELECT count(*) AS arrangements FROM coordinator.arrangements;
SELECT count(*) AS view_status FROM coordinator.view_status();
SELECT count(*) AS webhook_sources FROM coordinator.webhook_sources;
-- the catalog tables behind them are not readable at all
SELECT count(*) FROM coordinator.catalog_objects;
SELECT count(*) FROM coordinator.sources;
SELECT count(*) FROM coordinator.view_options;
SELECT count(*) FROM coordinator.history;
-- nor is the view through AS OF, EXPLAIN TIMESTAMP or SUBSCRIBE
SELECT count(*) FROM coordinator.as_of(NULL::sec.totals, coordinator.oracle_timestamp());
SELECT coordinator.explain_timestamp('SELECT * FROM sec.totals');
SELECT coordinator.subscribe_open('sec.totals');
RESET ROLE;

-- a read hold shows only to roles that may read its view
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM sec.totals;
SELECT count(*) AS my_holds FROM coordinator.read_holds WHERE pid = pg_backend_pid();
SET LOCAL ROLE sec_other;
SELECT count(*) AS holds_seen_by_other FROM coordinator.read_holds WHERE pid = pg_backend_pid();
COMMIT;

-- once granted, the view shows everywhere
GRANT SELECT ON sec.totals TO sec_other;
SET ROLE sec_other;
SELECT name FROM coordinator.objects WHERE name = 'sec.totals'::regclass;
SELECT count(*) > 0 AS arranged FROM coordinator.arrangements WHERE object = 'sec.totals'::regclass;
SELECT count(*) FROM sec.totals;
RESET ROLE;

-- the test switches are superuser only
SET ROLE sec_other;
SELECT coordinator.debug_inject_error(0);
SELECT coordinator.debug_pause_workers(true);
RESET ROLE;

-- install time: CREATE EXTENSION refuses a schema coordinator that a role
-- other than a superuser owns or may create objects in
SET client_min_messages = warning;
DROP EXTENSION coordinator CASCADE;
RESET client_min_messages;
DROP SCHEMA coordinator;
CREATE SCHEMA coordinator AUTHORIZATION sec_other;
CREATE EXTENSION coordinator;
ALTER SCHEMA coordinator OWNER TO CURRENT_USER;
GRANT CREATE ON SCHEMA coordinator TO sec_other;
CREATE EXTENSION coordinator;
REVOKE CREATE ON SCHEMA coordinator FROM sec_other;
CREATE EXTENSION coordinator;

DROP SCHEMA sec CASCADE;
DROP FUNCTION public.sec_helper(int);
DROP ROLE sec_readers;
DROP ROLE sec_other;
DROP ROLE sec_owner;
