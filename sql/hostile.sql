-- Hostile input: every function of schema coordinator, called with NULL and
-- with hostile values in each argument (empty and quoted names, statements
-- that are not a SELECT, garbage, negative and huge numbers, relations of
-- the wrong kind, OIDs of nothing), as a superuser and as an unprivileged
-- role, returns or raises an error with a SQLSTATE other than XX000
-- (internal error), and the server stays up.  The functions are read from
-- pg_proc, so a new function is called without changing this file; an
-- argument type without hostile values below is reported.
--
-- Each call is one DO block (a statement of its own, so statement_timeout
-- bounds each call: a subscription that waits for data is canceled, 57014,
-- which counts as an answer) that runs the call in a subtransaction, rolls
-- back what a successful call did, and records success or the SQLSTATE.
-- Set-returning functions are called twice: in the select list with
-- LIMIT 1, and through DECLARE CURSOR (the form the subscribe hook
-- rewrites) with FETCH 1.  Functions that change state outside the
-- transaction are restored (hostile.restore).  A backend crash ends the
-- connection and so fails the test.
CREATE SCHEMA hostile;
SET search_path = hostile, public;

-- relations of every kind, and one maintained view
CREATE TABLE hostile_t (a int, b text);
INSERT INTO hostile_t VALUES (1, 'one'), (2, 'two');
CREATE INDEX hostile_idx ON hostile_t (a);
CREATE SEQUENCE hostile_seq;
CREATE MATERIALIZED VIEW hostile_mv AS SELECT a FROM hostile_t;
CREATE VIEW hostile_pv AS SELECT a FROM hostile_t;
CREATE TYPE hostile_ty AS (x int);
CREATE TABLE hostile_part (a int) PARTITION BY RANGE (a);
CREATE TABLE hostile_part1 PARTITION OF hostile_part FOR VALUES FROM (0) TO (10);
CREATE TEMP TABLE hostile_tmp (a int);
SET client_min_messages = warning;
CREATE MATERIALIZED VIEW hostile_v WITH (incremental) AS SELECT a, b FROM hostile_t;
RESET client_min_messages;

-- Hostile values by argument type (SQL expressions).
CREATE TABLE hostile.vals (type regtype, val text);
INSERT INTO hostile.vals (type, val)
SELECT 'text'::regtype, v FROM unnest(ARRAY[
    'NULL', '''''', ''' ''', '''"x"."y z"''', '''"''', '''a.b.c.d''',
    '''x"; DROP TABLE hostile.hostile_t; --''',
    '''SELECT 1; DROP TABLE hostile.hostile_t''', '''DROP TABLE hostile.hostile_t''',
    '''INSERT INTO hostile.hostile_t VALUES (3)''', '''SELECT''', '''(SELECT 1''',
    '''(SELECT 1)''', '''SELECT 1/0''', '''VALUES (1)''', '''EXPLAIN SELECT 1''',
    '''SELECT * FROM hostile.hostile_seq''', '''SELECT * FROM hostile.hostile_idx''',
    '''SELECT * FROM hostile.hostile_mv''', '''SELECT a FROM hostile.hostile_v''',
    '''hostile_t''', '''hostile_idx''', '''hostile_seq''', '''hostile_mv''',
    '''hostile_pv''', '''hostile_ty''', '''hostile_part''', '''pg_temp.hostile_tmp''',
    '''hostile_v''', '''pg_class''',
    '''coordinator.catalog_objects''', '''no_such_relation''',
    'E''\x01)(*&^%$#@!\t\n''', 'repeat(''x'', 100000)', 'repeat(''"'', 1001)',
    '''md5''', '''json array''', '''ÿ☃''']) AS v
UNION ALL
SELECT 'boolean', v FROM unnest(ARRAY['NULL', 'true', 'false']) AS v
UNION ALL
SELECT 'integer', v FROM unnest(ARRAY['NULL', '-1', '0', '1', '2147483647', '(-2147483647 - 1)']) AS v
UNION ALL
SELECT 'bigint', v FROM unnest(ARRAY['NULL', '-1', '0', '1', '9223372036854775807',
    '(-9223372036854775807 - 1)', '2147483648']) AS v
UNION ALL
SELECT 'interval', v FROM unnest(ARRAY['NULL', '''-1 second''', '''0''', '''1 millisecond''',
    '''178000000 years''', '''-178000000 years''', '''2147483647 days 2562047788 hours''']) AS v
UNION ALL
SELECT 'timestamptz', v FROM unnest(ARRAY['NULL', '''infinity''', '''-infinity''', '''epoch''',
    'now()', 'now() + ''1 day''', '''294276-12-31 23:59:59+00''', '''4713-01-01 BC''']) AS v
UNION ALL
SELECT 'regclass', v FROM unnest(ARRAY['NULL', '''hostile.hostile_t''', '''hostile.hostile_idx''',
    '''hostile.hostile_seq''', '''hostile.hostile_mv''', '''hostile.hostile_pv''',
    '''hostile.hostile_ty''', '''hostile.hostile_part''', '''pg_temp.hostile_tmp''',
    '''hostile.hostile_v''', '''pg_class''',
    '''coordinator.catalog_objects''', '0', '4294967295', '1']) AS v
UNION ALL
SELECT 'text[]', v FROM unnest(ARRAY['NULL', '''{}''', '''{NULL}''', '''{""}''', '''{a,a}''',
    '''{{a},{b}}''', '''{"\"x\".\"y z\""}''', '''{mz_timestamp,mz_diff}''', '''{A}''',
    'array_fill(''a''::text, ARRAY[10000])', '''[5:6]={a,b}''']) AS v
UNION ALL
SELECT 'bytea', v FROM unnest(ARRAY['NULL', '''''', '''\x00''', 'decode(repeat(''ff'', 100000), ''hex'')']) AS v
UNION ALL
-- polymorphic: the type of the value decides
SELECT 'anyelement', v FROM unnest(ARRAY['NULL', 'NULL::hostile.hostile_t', 'NULL::hostile.hostile_v',
    'ROW(1, ''one'')::hostile.hostile_v', 'NULL::hostile.hostile_mv', 'NULL::hostile.hostile_seq',
    'NULL::hostile.hostile_pv', 'NULL::hostile.hostile_ty', 'NULL::hostile.hostile_part',
    'NULL::pg_temp.hostile_tmp', 'NULL::pg_class', 'NULL::int',
    '1', '''x''::text', 'NULL::int[]', 'NULL::coordinator.catalog_objects']) AS v
UNION ALL
-- cannot be written in SQL: every call is refused by the parser
SELECT 'internal', 'NULL';

-- The value of an argument when another one is hostile: its default if it
-- has one, else by name, else by type.
CREATE TABLE hostile.benign (type regtype, argname text, val text);
INSERT INTO hostile.benign VALUES
    ('text', NULL, '''hostile_v'''),
    ('text', 'name', '''hostile_new'''),
    ('text', 'query', '''SELECT a FROM hostile.hostile_v'''),
    ('text', 'type', '''sha256'''),
    ('text', 'value', '''secret'''),
    ('boolean', NULL, 'true'),
    ('integer', NULL, '0'),
    ('bigint', NULL, '1'),
    ('bigint', 'as_of', 'coordinator.oracle_timestamp()'),
    ('bigint', 'id', '(SELECT coordinator.subscribe_open(''hostile_v''))'),
    ('interval', NULL, '''1 second'''),
    ('timestamptz', NULL, 'now()'),
    ('regclass', NULL, '''hostile.hostile_v'''),
    ('text[]', NULL, '''{}'''),
    ('bytea', NULL, '''\x01'''),
    ('anyelement', NULL, 'NULL::hostile.hostile_v'),
    ('internal', NULL, 'NULL');

-- Functions whose effect outlives the transaction, and how the test undoes
-- it.  after_call runs after each successful call; after_pass runs once
-- after all calls of a role, which come last in each pass.
CREATE TABLE hostile.restore (fn regprocedure PRIMARY KEY, after_call text, after_pass text, why text);
INSERT INTO hostile.restore VALUES
    ('coordinator.debug_pause_workers(boolean,integer)',
     'SELECT coordinator.debug_pause_workers(false)', NULL,
     'a paused worker would make later reads wait'),
    ('coordinator.debug_inject_error(integer)', NULL,
     'a committed change and a strict read of hostile_v, which waits until the worker has restarted and caught up',
     'the worker fails at its next applying step and restarts');

-- The calls: each argument position of each function gets every hostile
-- value of its type, the other arguments their benign value.
CREATE TABLE hostile.calls (
    id serial PRIMARY KEY,
    fn regprocedure NOT NULL,
    position int NOT NULL,		-- 0: a function without arguments
    val text,					-- the hostile value
    form text NOT NULL,			-- call, select (set-returning), cursor
    stmt text[] NOT NULL		-- statements, run in order
);
WITH fns AS (
    -- input arguments, numbered from 1: type, name, number among all arguments
    SELECT p.oid, p.proname, p.proretset, p.pronargs,
           ARRAY(SELECT t FROM unnest(p.proargtypes::regtype[]) AS t) AS types,
           ARRAY(SELECT n FROM unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(n, m, k)
                  WHERE m IS NULL OR m IN ('i', 'b', 'v') ORDER BY k) AS names,
           ARRAY(SELECT k FROM unnest(COALESCE(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs])))
                              WITH ORDINALITY AS a(m, k)
                  WHERE m IN ('i', 'b', 'v') ORDER BY k) AS numbers
      FROM pg_proc p
     WHERE p.pronamespace = 'coordinator'::regnamespace
), positions AS (
    SELECT f.*, i FROM fns f, generate_series(1, f.pronargs) AS i
    UNION ALL
    SELECT f.*, 0 FROM fns f WHERE f.pronargs = 0
), arglists AS (
    SELECT p.oid, p.proname, p.proretset, p.i, v.val,
           (SELECT string_agg(
                '(' || CASE WHEN j = p.i THEN v.val
                     ELSE COALESCE(pg_get_function_arg_default(p.oid, p.numbers[j]::int),
                                   (SELECT b.val FROM hostile.benign b
                                     WHERE b.type = p.types[j]
                                       AND (b.argname = p.names[j] OR b.argname IS NULL)
                                     ORDER BY b.argname NULLS LAST LIMIT 1))
                END || ')'
                || CASE WHEN p.types[j] IN ('anyelement', 'internal') THEN ''
                        ELSE '::' || p.types[j]::text END,
                ', ' ORDER BY j)
              FROM generate_series(1, p.pronargs) AS j) AS args
      FROM positions p
      LEFT JOIN hostile.vals v ON v.type = p.types[p.i]
     WHERE p.i = 0 OR v.val IS NOT NULL
), forms AS (
    SELECT a.*, 'call' AS form FROM arglists a WHERE NOT a.proretset
    UNION ALL
    SELECT a.*, form FROM arglists a, unnest(ARRAY['select', 'cursor']) AS form WHERE a.proretset
)
INSERT INTO hostile.calls (fn, position, val, form, stmt)
SELECT f.oid, f.i, f.val, f.form,
       CASE f.form
           WHEN 'call' THEN ARRAY[format('SELECT coordinator.%I(%s)', f.proname, COALESCE(f.args, ''))]
           WHEN 'select' THEN ARRAY[format('SELECT coordinator.%I(%s) LIMIT 1', f.proname, COALESCE(f.args, ''))]
           ELSE ARRAY[format('DECLARE hostile_c CURSOR FOR SELECT coordinator.%I(%s)', f.proname, COALESCE(f.args, '')),
                      'FETCH 1 FROM hostile_c', 'CLOSE hostile_c']
       END
  FROM forms f
 ORDER BY f.oid IN (SELECT r.fn FROM hostile.restore r WHERE r.after_pass IS NOT NULL),
          f.proname, f.oid, f.i, f.args, f.form;

-- argument types that have no hostile values (expected: none)
SELECT DISTINCT t::regtype AS type_without_hostile_values
  FROM pg_proc p, unnest(p.proargtypes::regtype[]) AS t
 WHERE p.pronamespace = 'coordinator'::regnamespace
   AND t NOT IN (SELECT type FROM hostile.vals);

CREATE TABLE hostile.results (
    id int NOT NULL REFERENCES hostile.calls,
    role name NOT NULL,
    sqlstate text NOT NULL,		-- 'ok' for success
    message text,
    PRIMARY KEY (id, role)
);

CREATE ROLE hostile_user;
GRANT USAGE ON SCHEMA hostile TO hostile_user;
GRANT SELECT ON hostile.calls, hostile.restore TO hostile_user;
GRANT INSERT ON hostile.results TO hostile_user;
GRANT SELECT ON hostile.hostile_v TO hostile_user;

-- One DO block per call.  ZZ000 marks success and rolls it back; a
-- subscription the call left open in the session is closed.
CREATE VIEW hostile.blocks AS
SELECT c.id, format($body$DO %L$body$, format($do$
DECLARE
    st text;
    msg text;
    s record;
BEGIN
    BEGIN
        %s
        RAISE EXCEPTION 'success' USING ERRCODE = 'ZZ000';
    EXCEPTION
        WHEN query_canceled THEN
            st := '57014';
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    END;
    IF st = 'ZZ000' THEN
        st := 'ok';
        msg := NULL;
        %s
    END IF;
    FOR s IN SELECT id FROM coordinator.subscription_status() WHERE pid = pg_backend_pid() LOOP
        BEGIN
            PERFORM coordinator.subscribe_close(s.id);
        EXCEPTION WHEN undefined_object THEN
            NULL;
        END;
    END LOOP;
    INSERT INTO hostile.results VALUES (%s, current_user, st, msg);
END
$do$,
    (SELECT string_agg(format('EXECUTE %L;', s), E'\n        ') FROM unnest(c.stmt) AS s),
    COALESCE((SELECT format('EXECUTE %L;', r.after_call) FROM hostile.restore r
               WHERE r.fn = c.fn AND r.after_call IS NOT NULL), ''),
    c.id)) AS block
  FROM hostile.calls c;
GRANT SELECT ON hostile.blocks TO hostile_user;

-- as a superuser
SET client_min_messages = warning;
SET statement_timeout = '1s';
\set ECHO none
SELECT block FROM hostile.blocks ORDER BY id \gexec
\set ECHO all
RESET statement_timeout;
RESET client_min_messages;

-- after_pass of debug_inject_error: the worker has restarted and the view
-- is maintained again
INSERT INTO hostile_t VALUES (3, 'three');
SELECT a, b FROM hostile_v ORDER BY a;
SELECT last_exit LIKE 'error: %injected by coordinator.debug_inject_error' AS restarted_after_injected_error
  FROM coordinator.workers;

-- as a role without privileges (but SELECT on hostile_v)
SET ROLE hostile_user;
SET client_min_messages = warning;
SET statement_timeout = '1s';
\set ECHO none
SELECT block FROM hostile.blocks ORDER BY id \gexec
\set ECHO all
RESET statement_timeout;
RESET client_min_messages;
RESET ROLE;

-- every function of the schema was called, in every argument position
SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'coordinator'::regnamespace)
     = (SELECT count(DISTINCT fn) FROM hostile.calls) AS all_functions_called;
SELECT p.oid::regprocedure AS position_not_called_with_null, i
  FROM pg_proc p, generate_series(1, p.pronargs) AS i
 WHERE p.pronamespace = 'coordinator'::regnamespace
   AND NOT EXISTS (SELECT 1 FROM hostile.calls c
                    WHERE c.fn = p.oid AND c.position = i AND c.val = 'NULL');
-- every call answered, for both roles
SELECT CASE role WHEN 'hostile_user' THEN 'unprivileged' ELSE 'superuser' END AS role,
       count(*) = (SELECT count(*) FROM hostile.calls) AS every_call_answered,
       count(*) FILTER (WHERE sqlstate = 'ok') > 0 AS some_succeeded,
       count(*) FILTER (WHERE sqlstate NOT IN ('ok', '57014')) > 0 AS some_refused
  FROM hostile.results GROUP BY 1 ORDER BY 1;
-- calls that raised an internal error (expected: none)
SELECT r.role, c.stmt, r.sqlstate, r.message
  FROM hostile.results r JOIN hostile.calls c USING (id)
 WHERE r.sqlstate !~ '^([0-9A-Z]{5}|ok)$' OR r.sqlstate LIKE 'XX%'
 ORDER BY c.id, r.role;

-- the server is up, the worker runs, the view is maintained
SELECT count(*) AS running FROM coordinator.workers WHERE pid IS NOT NULL;
SELECT (SELECT count(*) FROM hostile_v) = (SELECT count(*) FROM hostile_t) AS view_matches;
SELECT count(*) AS open_subscriptions FROM coordinator.subscriptions;

DROP SCHEMA hostile CASCADE;
DROP OWNED BY hostile_user;
DROP ROLE hostile_user;
