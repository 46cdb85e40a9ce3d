/* coordinator--0.1.sql */

\echo Use "CREATE EXTENSION coordinator" to load this file. \quit

-- Extension security: everything below lives in schema coordinator and
-- runs with a superuser's rights, so the schema must not be one that a
-- role other than a superuser owns or may create objects in (CREATE
-- EXTENSION uses an existing schema of that name as it is).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                 JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
                WHERE n.nspname OPERATOR(pg_catalog.=) 'coordinator' AND NOT r.rolsuper)
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n,
                         pg_catalog.aclexplode(n.nspacl) a
                    LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
                   WHERE n.nspname OPERATOR(pg_catalog.=) 'coordinator'
                     AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
                     AND NOT COALESCE(r.rolsuper, false))
    THEN
        RAISE EXCEPTION 'schema "coordinator" already exists and is not owned and writable by superusers only'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Drop or rename that schema, then run CREATE EXTENSION coordinator again.';
    END IF;
END
$$;

-- Refuse to install on a server that cannot run maintained views.
CREATE FUNCTION coordinator.check_setup() RETURNS void
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_check_setup';
COMMENT ON FUNCTION coordinator.check_setup() IS
    'raises an error with a hint if the server configuration cannot run maintained views';
SELECT coordinator.check_setup();

-- The catalog.
CREATE TABLE coordinator.catalog_objects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relid oid NOT NULL UNIQUE,
    kind text NOT NULL,
    definition text NOT NULL,
    plan text NOT NULL,
    owner oid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    retain_history interval NOT NULL DEFAULT '1 second'
        CHECK (retain_history OPERATOR(pg_catalog.>=) '0'::pg_catalog.interval)
);
COMMENT ON TABLE coordinator.catalog_objects IS
    'the catalog of maintained objects: relation, kind, definition as written, compiled dataflow plan, owner, history kept (see the view coordinator.objects)';

-- What pg_dump saves of maintained views (src/commands/restore.c).  A dump
-- recreates each view as a plain materialized view WITH NO DATA, then loads
-- this table (an extension configuration table): view is a regclass, so
-- the restore maps each name to the new view, and the trigger makes each
-- view maintained again.  Kept in step with catalog_objects.
CREATE TABLE coordinator.view_options (
    view regclass PRIMARY KEY,
    retain_history interval NOT NULL
);
COMMENT ON TABLE coordinator.view_options IS
    'internal: the maintained views and their options, as pg_dump saves them; a restore that loads it makes the views maintained again';
SELECT pg_catalog.pg_extension_config_dump('coordinator.view_options', '');

CREATE FUNCTION coordinator.restore_view() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'coordinator_restore_view';
COMMENT ON FUNCTION coordinator.restore_view() IS
    'internal: makes a materialized view loaded into coordinator.view_options by a restore maintained';
REVOKE ALL ON FUNCTION coordinator.restore_view() FROM PUBLIC;
CREATE TRIGGER restore_view AFTER INSERT ON coordinator.view_options
    FOR EACH ROW EXECUTE FUNCTION coordinator.restore_view();

-- Retained history (src/timestamp/history.c): the changes of each view
-- after its since, for AS OF reads.  Written by the dataflow workers only;
-- rebuilt from nothing when a worker hydrates, so it need not survive a
-- crash.
CREATE UNLOGGED TABLE coordinator.history (
    relid oid NOT NULL,
    ts bigint NOT NULL,
    first_commit bigint NOT NULL,
    wall timestamptz NOT NULL,
    diff bigint NOT NULL,
    "row" bytea NOT NULL
);
CREATE INDEX history_relid_ts ON coordinator.history (relid, ts);
COMMENT ON TABLE coordinator.history IS
    'internal: the changes of every maintained view after its since (timestamp, first commit of the tick, wall time applied, diff, row image); read with coordinator.as_of';
REVOKE ALL ON coordinator.history FROM PUBLIC;

CREATE TABLE coordinator.sources (
    object_id bigint NOT NULL REFERENCES coordinator.catalog_objects (id) ON DELETE CASCADE,
    relid oid NOT NULL,
    PRIMARY KEY (object_id, relid)
);
COMMENT ON TABLE coordinator.sources IS
    'the tables and maintained views each maintained object reads';

-- Webhook sources (src/webhook/): ordinary tables that the listener appends
-- HTTP requests to.  check_plan is the analyzed CHECK expression, whose
-- parameters are $1 body, $2 headers, then the secrets in order.
CREATE TABLE coordinator.catalog_webhooks (
    relid oid PRIMARY KEY,
    body_format text NOT NULL,
    include_headers boolean NOT NULL,
    exclude_headers text[] NOT NULL,
    header_columns text[] NOT NULL,
    check_expression text,
    check_plan text,
    secrets text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE coordinator.catalog_webhooks IS
    'the catalog of webhook sources: table, body format, headers kept, CHECK expression as written and analyzed, secrets it reads (see the view coordinator.webhook_sources)';

-- What pg_dump saves of webhook sources (src/commands/restore.c), as
-- view_options for views: catalog_webhooks holds the table's OID and the
-- analyzed CHECK, which name objects by OID and mean nothing in another
-- database.  This configuration table holds each source as its definition
-- was given (source is a regclass, which a restore maps to the new table);
-- its trigger makes each restored table a source again.  Kept in step with
-- catalog_webhooks.
CREATE TABLE coordinator.webhook_options (
    source regclass PRIMARY KEY,
    body_format text NOT NULL,
    include_headers boolean NOT NULL,
    exclude_headers text[] NOT NULL,
    header_columns text[] NOT NULL,
    check_expression text,
    secrets text[] NOT NULL
);
COMMENT ON TABLE coordinator.webhook_options IS
    'internal: the webhook sources and their definitions, as pg_dump saves them; a restore that loads it makes the tables sources again';
SELECT pg_catalog.pg_extension_config_dump('coordinator.webhook_options', '');

CREATE FUNCTION coordinator.restore_webhook_source() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'coordinator_restore_webhook_source';
COMMENT ON FUNCTION coordinator.restore_webhook_source() IS
    'internal: makes a table loaded into coordinator.webhook_options by a restore a webhook source';
REVOKE ALL ON FUNCTION coordinator.restore_webhook_source() FROM PUBLIC;
CREATE TRIGGER restore_webhook_source AFTER INSERT ON coordinator.webhook_options
    FOR EACH ROW EXECUTE FUNCTION coordinator.restore_webhook_source();

-- The catalog tables are read through the views below, which show a role
-- only the objects it may read.
GRANT USAGE ON SCHEMA coordinator TO PUBLIC;
REVOKE ALL ON coordinator.catalog_objects, coordinator.sources, coordinator.catalog_webhooks,
    coordinator.view_options, coordinator.webhook_options FROM PUBLIC;

CREATE FUNCTION coordinator.create_materialized_view(name text, query text)
    RETURNS regclass
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_create_materialized_view';
COMMENT ON FUNCTION coordinator.create_materialized_view(text, text) IS
    'CREATE MATERIALIZED VIEW name WITH (incremental) AS query, for clients that cannot pass reloptions';

-- The value of a correlated scalar subquery rewritten into a grouped join
-- (src/compile/decorrelate.c): a group's first row, and what an outer row
-- reads of it: the value, or 21000 if the group has two rows.
CREATE FUNCTION coordinator.single_value_transfn(internal, anyelement)
    RETURNS internal
    LANGUAGE C IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'coordinator_single_value_transfn';
CREATE FUNCTION coordinator.single_value_finalfn(internal, anyelement)
    RETURNS anyelement
    LANGUAGE C IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'coordinator_single_value_finalfn';
CREATE AGGREGATE coordinator.single_value(anyelement) (
    SFUNC = coordinator.single_value_transfn,
    STYPE = internal,
    FINALFUNC = coordinator.single_value_finalfn,
    FINALFUNC_EXTRA
);
COMMENT ON AGGREGATE coordinator.single_value(anyelement) IS
    'the value of the first row of a group (of its only row, where coordinator.subquery_value reads it)';
CREATE FUNCTION coordinator.subquery_value(value anyelement, rows bigint)
    RETURNS anyelement
    LANGUAGE C IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'coordinator_subquery_value';
COMMENT ON FUNCTION coordinator.subquery_value(anyelement, bigint) IS
    'value, read by an outer row from a scalar subquery''s group of that many rows: more than one row is an error (21000)';

CREATE FUNCTION coordinator.notify_catalog_change() RETURNS void
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_notify_catalog_change';
COMMENT ON FUNCTION coordinator.notify_catalog_change() IS
    'internal: tells the coordinator at commit that the catalog changed';
REVOKE ALL ON FUNCTION coordinator.notify_catalog_change() FROM PUBLIC;

-- Keep the catalog in step with DROP MATERIALIZED VIEW, DROP TABLE ... CASCADE,
-- DROP SCHEMA ... CASCADE, DROP OWNED: whatever drops a maintained view.
CREATE FUNCTION coordinator.on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    dropped bigint;
    source text;
BEGIN
    -- A webhook source's rows are the user's: a DROP ... CASCADE that would
    -- take the table only because its CHECK uses an object the command
    -- drops (a function, an operator, a type; one of another role's, by
    -- DROP OWNED) is refused.  A table named by the command, owned by the
    -- role of a DROP OWNED, or in a schema the command drops goes, as the
    -- command says.
    SELECT d.object_identity INTO source
      FROM pg_catalog.pg_event_trigger_dropped_objects() d
      JOIN coordinator.catalog_webhooks w ON w.relid OPERATOR(pg_catalog.=) d.objid
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid OPERATOR(pg_catalog.=) 0
       AND NOT d.original
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger_dropped_objects() n
                        WHERE n.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
                          AND n.object_name OPERATOR(pg_catalog.=) d.schema_name)
     LIMIT 1;
    IF source IS NOT NULL THEN
        RAISE EXCEPTION 'cannot drop webhook source % and its rows as a dependent object', source
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'Its CHECK expression uses an object that this command drops.',
                  HINT = 'Drop the table itself first if its rows may go.';
    END IF;

    WITH gone AS (
        DELETE FROM coordinator.catalog_objects o
         USING pg_catalog.pg_event_trigger_dropped_objects() d
         WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.objid OPERATOR(pg_catalog.=) o.relid
        RETURNING o.id)
    SELECT pg_catalog.count(*) INTO dropped FROM gone;
    DELETE FROM coordinator.view_options v
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objid OPERATOR(pg_catalog.=) v.view::pg_catalog.oid;
    DELETE FROM coordinator.history h
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objid OPERATOR(pg_catalog.=) h.relid;
    DELETE FROM coordinator.catalog_webhooks w
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objid OPERATOR(pg_catalog.=) w.relid;
    DELETE FROM coordinator.webhook_options w
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objid OPERATOR(pg_catalog.=) w.source::pg_catalog.oid;
    IF dropped OPERATOR(pg_catalog.>) 0 THEN
        PERFORM coordinator.notify_catalog_change();
    END IF;
END
$$;
COMMENT ON FUNCTION coordinator.on_sql_drop() IS
    'internal: removes dropped maintained views and webhook sources from the catalog';
REVOKE ALL ON FUNCTION coordinator.on_sql_drop() FROM PUBLIC;

CREATE EVENT TRIGGER coordinator_sql_drop ON sql_drop
    EXECUTE FUNCTION coordinator.on_sql_drop();

-- Introspection, in the spirit of Materialize's mz_catalog and mz_internal.
-- Timestamps are WAL positions as bigint: a commit's timestamp is the end of
-- its commit record ('0/0'::pg_lsn + ts gives it as a pg_lsn).
CREATE FUNCTION coordinator.view_status(
    OUT relid oid, OUT worker int, OUT state text, OUT since bigint, OUT upper bigint,
    OUT error text, OUT error_sqlstate text, OUT arranged_rows bigint, OUT dataflow_bytes bigint)
    RETURNS SETOF record
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_view_status';
COMMENT ON FUNCTION coordinator.view_status() IS
    'every maintained view as the coordinator runs it, from shared memory';

CREATE FUNCTION coordinator.worker_status(
    OUT worker int, OUT pid int, OUT state text, OUT dataflows int, OUT memory_bytes bigint,
    OUT launches bigint, OUT decoded pg_lsn, OUT last_exit text, OUT last_exit_at timestamptz,
    OUT slot_invalidations bigint)
    RETURNS SETOF record
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_worker_status';
COMMENT ON FUNCTION coordinator.worker_status() IS
    'the dataflow workers, from shared memory';

CREATE FUNCTION coordinator.timestamp_wall_time(ts bigint) RETURNS timestamptz
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_timestamp_wall_time';
COMMENT ON FUNCTION coordinator.timestamp_wall_time(bigint) IS
    'the latest wall-clock time at which the WAL ended at or before timestamp ts (NULL if older than the timeline kept in memory)';

CREATE FUNCTION coordinator.oracle_timestamp() RETURNS bigint
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_oracle_timestamp';
COMMENT ON FUNCTION coordinator.oracle_timestamp() IS
    'the timestamp oracle: the end of the latest commit, which a strict read reflects';

CREATE FUNCTION coordinator.last_read_timestamp() RETURNS bigint
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_last_read_timestamp';
COMMENT ON FUNCTION coordinator.last_read_timestamp() IS
    'the timestamp of this session''s last statement that read maintained views (NULL before the first)';

CREATE FUNCTION coordinator.explain_timestamp(query text) RETURNS text
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_explain_timestamp';
COMMENT ON FUNCTION coordinator.explain_timestamp(text) IS
    'EXPLAIN TIMESTAMP: how a read of the query would choose its timestamp now, in Materialize''s layout';

CREATE FUNCTION coordinator.explain_timestamp_json(query text) RETURNS jsonb
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_explain_timestamp_json';
COMMENT ON FUNCTION coordinator.explain_timestamp_json(text) IS
    'EXPLAIN TIMESTAMP AS JSON';

-- The schema and name of a relation, as pg_stat_* shows them (schemaname,
-- relname): the introspection views carry them next to their regclass
-- column, so that WHERE relname = 'v' needs no cast and finds a view
-- whatever the search_path.  No rows for an OID of no relation.
CREATE FUNCTION coordinator.relation_name(relid regclass, OUT schemaname name, OUT relname name)
    RETURNS SETOF record
    LANGUAGE sql STABLE STRICT
    AS $$ SELECT n.nspname, c.relname
            FROM pg_catalog.pg_class c
            JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
           WHERE c.oid OPERATOR(pg_catalog.=) $1 $$;
COMMENT ON FUNCTION coordinator.relation_name(regclass) IS
    'the schema and name of a relation (no row for an OID of no relation)';

CREATE VIEW coordinator.objects AS
    SELECT o.id, o.relid::pg_catalog.regclass AS name, o.relid, o.kind, o.definition,
           c.relowner::pg_catalog.regrole AS owner,
           COALESCE(s.state, 'pending') AS state, s.worker,
           s.error AS last_error, s.error_sqlstate AS last_error_sqlstate,
           o.created_at, o.plan, o.retain_history,
           n.nspname AS schemaname, c.relname
      FROM coordinator.catalog_objects o
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) o.relid
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
      LEFT JOIN coordinator.view_status() s ON s.relid OPERATOR(pg_catalog.=) o.relid
     WHERE pg_catalog.has_table_privilege(o.relid, 'SELECT');
COMMENT ON VIEW coordinator.objects IS
    'maintained objects the current role may read: id, name, kind, definition as written, owner, state (pending, hydrating, running, failed), worker, last error (a data error, or why it failed), compiled plan (the planner''s PlannedStmt as stored, for tools; coordinator.explain_dataflow(relid) shows the dataflow readably), history retained, schema and name';

CREATE VIEW coordinator.frontiers AS
    SELECT f.relid::pg_catalog.regclass AS object, f.kind, f.since, f.upper,
           coordinator.timestamp_wall_time(f.since) AS since_time,
           coordinator.timestamp_wall_time(f.upper) AS upper_time,
           f.relid, r.schemaname, r.relname
      FROM (SELECT s.relid, 'materialized view' AS kind, s.since, s.upper
              FROM coordinator.view_status() s
            UNION ALL
            SELECT d.relid, 'source', d.decoded, d.decoded OPERATOR(pg_catalog.+) 1
              FROM (SELECT src.relid,
                           pg_catalog.min(w.decoded OPERATOR(pg_catalog.-) '0/0'::pg_catalog.pg_lsn)::bigint AS decoded
                      FROM (SELECT DISTINCT so.relid, s.worker
                              FROM coordinator.sources so
                              JOIN coordinator.catalog_objects o ON o.id OPERATOR(pg_catalog.=) so.object_id
                              JOIN coordinator.view_status() s ON s.relid OPERATOR(pg_catalog.=) o.relid
                             WHERE NOT EXISTS (SELECT FROM coordinator.catalog_objects v
                                                WHERE v.relid OPERATOR(pg_catalog.=) so.relid)) src
                      JOIN coordinator.worker_status() w ON w.worker OPERATOR(pg_catalog.=) src.worker
                     GROUP BY src.relid) d) f
      LEFT JOIN LATERAL coordinator.relation_name(f.relid::pg_catalog.regclass) r ON true;
COMMENT ON VIEW coordinator.frontiers IS
    'read (since) and write (upper) frontier of every collection: a read at t is valid iff since <= t < upper; for a source, how far the dataflow has decoded it; kind is materialized view or source';

CREATE VIEW coordinator.materialization_lag AS
    SELECT s.relid::pg_catalog.regclass AS object, s.upper, o.ts AS oracle_timestamp,
           GREATEST(0, o.ts OPERATOR(pg_catalog.-) (s.upper OPERATOR(pg_catalog.-) 1)) AS lag_bytes,
           CASE WHEN s.upper IS NULL THEN NULL
                WHEN s.upper OPERATOR(pg_catalog.>) o.ts THEN '0'::pg_catalog.interval
                ELSE pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) coordinator.timestamp_wall_time(s.upper)
           END AS lag,
           s.relid, r.schemaname, r.relname
      FROM coordinator.view_status() s
      CROSS JOIN coordinator.oracle_timestamp() o(ts)
      LEFT JOIN LATERAL coordinator.relation_name(s.relid::pg_catalog.regclass) r ON true;
COMMENT ON VIEW coordinator.materialization_lag IS
    'how far each maintained view is behind the latest commit (the timestamp oracle): in WAL bytes, and in time since the WAL went past what the view reflects';

CREATE VIEW coordinator.workers AS
    SELECT * FROM coordinator.worker_status();
COMMENT ON VIEW coordinator.workers IS
    'dataflow workers: index, pid (NULL when not running), state (hydrating, decoding, applying, idle, paused, no views, stopped), dataflows, memory of the process, launches since server start, WAL position decoded, why and when it last exited, how many times its replication slot was invalidated (max_slot_wal_keep_size)';

CREATE FUNCTION coordinator.arrangement_sizes(
    OUT relid oid, OUT operator_id int, OUT arrangement text, OUT records bigint, OUT bytes bigint,
    OUT shared_by int, OUT keys bigint)
    RETURNS SETOF record
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_arrangement_sizes';
COMMENT ON FUNCTION coordinator.arrangement_sizes() IS
    'the arrangements of every dataflow, from shared memory';

CREATE VIEW coordinator.arrangements AS
    SELECT a.relid::pg_catalog.regclass AS object, a.operator_id, a.arrangement, a.records, a.bytes,
           a.shared_by, a.keys, a.relid, r.schemaname, r.relname
      FROM coordinator.arrangement_sizes() a
      LEFT JOIN LATERAL coordinator.relation_name(a.relid::pg_catalog.regclass) r ON true;
COMMENT ON VIEW coordinator.arrangements IS
    'every arrangement (indexed state) of every dataflow: its view, the plan node of its operator (EXPLAIN VERBOSE numbering), what it holds, distinct rows, bytes, how many joins read it (more than 1: one arrangement shared with other views, its bytes counted once per view), and its distinct keys (a join: distinct hashes of its key, 1 without one; a reduce: groups)';

CREATE VIEW coordinator.dataflows AS
    SELECT s.relid::pg_catalog.regclass AS object, s.worker, s.arranged_rows, s.dataflow_bytes,
           s.relid, r.schemaname, r.relname
      FROM coordinator.view_status() s
      LEFT JOIN LATERAL coordinator.relation_name(s.relid::pg_catalog.regclass) r ON true;
COMMENT ON VIEW coordinator.dataflows IS
    'per maintained view: rows held in its arrangements and memory of its whole dataflow';

CREATE FUNCTION coordinator.read_holds(
    OUT pid int, OUT relid oid, OUT kind text, OUT ts bigint)
    RETURNS SETOF record
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_read_holds';
COMMENT ON FUNCTION coordinator.read_holds() IS
    'the read holds of sessions and subscriptions, from shared memory';

CREATE VIEW coordinator.read_holds AS
    SELECT h.pid, h.relid::pg_catalog.regclass AS object, h.kind, h.ts,
           coordinator.timestamp_wall_time(h.ts) AS ts_time,
           h.relid, r.schemaname, r.relname
      FROM coordinator.read_holds() h
      LEFT JOIN LATERAL coordinator.relation_name(h.relid::pg_catalog.regclass) r ON true;
COMMENT ON VIEW coordinator.read_holds IS
    'read holds: a session (pid) or subscription that needs a view readable at ts (an AS OF read, a REPEATABLE READ transaction''s timestamp, a subscription''s as_of or progress); compaction does not move the view''s since past them';

CREATE FUNCTION coordinator.explain_dataflow(view regclass) RETURNS SETOF text
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_explain_dataflow';
COMMENT ON FUNCTION coordinator.explain_dataflow(regclass) IS
    'the operators of a maintained view''s dataflow as an indented tree (scans, maps, unions, joins with their keys, reduces with their kind), with the rows, bytes and keys of each arrangement as its worker last published them';

CREATE FUNCTION coordinator.hydration_progress(
    OUT relid oid, OUT worker int, OUT pid int, OUT phase text,
    OUT rows_scanned bigint, OUT rows_arranged bigint, OUT started_at timestamptz)
    RETURNS SETOF record
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_hydration_progress';
COMMENT ON FUNCTION coordinator.hydration_progress() IS
    'the views not hydrated yet and how far their hydration is, from shared memory';

CREATE VIEW coordinator.progress_hydration AS
    SELECT p.pid, p.worker, p.relid::pg_catalog.regclass AS object, p.phase,
           p.rows_scanned, p.rows_arranged, p.started_at,
           pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) p.started_at AS elapsed,
           p.relid, r.schemaname, r.relname
      FROM coordinator.hydration_progress() p
      LEFT JOIN LATERAL coordinator.relation_name(p.relid::pg_catalog.regclass) r ON true;
COMMENT ON VIEW coordinator.progress_hydration IS
    'each maintained view being hydrated (as pg_stat_progress_create_index): its worker''s pid, phase (waiting for worker, waiting for transactions, waiting to start, building dataflow, scanning sources, computing result, writing view, waiting for commit), source rows fed, rows arranged, when it began and for how long';

CREATE FUNCTION coordinator.read_waits(
    OUT pid int, OUT relid oid, OUT ts bigint, OUT since timestamptz)
    RETURNS SETOF record
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_read_waits';
COMMENT ON FUNCTION coordinator.read_waits() IS
    'the strict reads waiting for maintained views, from shared memory';

CREATE VIEW coordinator.waits AS
    SELECT w.pid, w.relid::pg_catalog.regclass AS object, w.ts, s.upper,
           CASE WHEN s.upper IS NULL OR w.ts IS NULL THEN NULL
                ELSE GREATEST(0, w.ts OPERATOR(pg_catalog.-) (s.upper OPERATOR(pg_catalog.-) 1))
           END AS behind_bytes,
           w.since,
           pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) w.since AS waited,
           w.relid, r.schemaname, r.relname
      FROM coordinator.read_waits() w
      LEFT JOIN coordinator.view_status() s ON s.relid OPERATOR(pg_catalog.=) w.relid
      LEFT JOIN LATERAL coordinator.relation_name(w.relid::pg_catalog.regclass) r ON true;
COMMENT ON VIEW coordinator.waits IS
    'strict reads waiting for a maintained view: session pid, the view, the timestamp it waits for (NULL: for the view''s hydration), the view''s upper, how far behind it is in WAL bytes, since when it waits and for how long';

GRANT SELECT ON coordinator.objects, coordinator.frontiers, coordinator.materialization_lag,
    coordinator.workers, coordinator.arrangements, coordinator.dataflows,
    coordinator.read_holds, coordinator.progress_hydration, coordinator.waits TO PUBLIC;

-- Compute servers (docs/scale-out.md, src/timestamp/primary.c): the
-- primary's clock, published with the tables, and the token a client takes
-- on the primary after its writes; on a compute server, reads with
-- coordinator.read_after set to it wait until its subscription has
-- applied the primary's commits up to it.
CREATE TABLE coordinator.primary_clock (
    id int PRIMARY KEY CHECK (id = 1),
    tick bigint NOT NULL
);
COMMENT ON TABLE coordinator.primary_clock IS
    'the primary''s clock: coordinator.timestamp_token() writes it; a compute server''s subscription carries it';
REVOKE ALL ON coordinator.primary_clock FROM PUBLIC;

CREATE FUNCTION coordinator.timestamp_token() RETURNS pg_catalog.pg_lsn
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    -- a commit to a published table after every commit acknowledged so far
    INSERT INTO coordinator.primary_clock VALUES (1, 1)
        ON CONFLICT (id) DO UPDATE SET tick = coordinator.primary_clock.tick + 1;
    RETURN pg_catalog.pg_current_wal_insert_lsn();
END $$;
COMMENT ON FUNCTION coordinator.timestamp_token() IS
    'on a primary: a token for coordinator.read_after on its compute servers; call it in its own transaction, after the writes to be read';

-- AS OF reads and retained history (src/commands/as_of.c).
CREATE FUNCTION coordinator.as_of(view anyelement, as_of bigint)
    RETURNS SETOF anyelement
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'coordinator_as_of';
COMMENT ON FUNCTION coordinator.as_of(anyelement, bigint) IS
    'the rows of maintained view v as of timestamp as_of: SELECT * FROM coordinator.as_of(NULL::v, ts)';

CREATE FUNCTION coordinator.as_of(view anyelement, as_of timestamptz)
    RETURNS SETOF anyelement
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'coordinator_as_of';
COMMENT ON FUNCTION coordinator.as_of(anyelement, timestamptz) IS
    'the rows maintained view v showed at wall-clock time as_of: SELECT * FROM coordinator.as_of(NULL::v, now() - interval ''10 minutes'')';

CREATE FUNCTION coordinator.set_retain_history(view regclass, retain_history interval)
    RETURNS void
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_set_retain_history';
COMMENT ON FUNCTION coordinator.set_retain_history(regclass, interval) IS
    'how much history of the maintained view to keep for AS OF reads from now on (history already compacted is gone)';

CREATE FUNCTION coordinator.debug_pause_workers(paused bool, worker int DEFAULT NULL) RETURNS void
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'coordinator_debug_pause_workers';
COMMENT ON FUNCTION coordinator.debug_pause_workers(bool, int) IS
    'test switch: while true, a dataflow worker (all of them when worker is NULL) stops consuming the WAL and its views fall behind';
REVOKE ALL ON FUNCTION coordinator.debug_pause_workers(bool, int) FROM PUBLIC;

CREATE FUNCTION coordinator.debug_inject_error(worker int) RETURNS void
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_debug_inject_error';
COMMENT ON FUNCTION coordinator.debug_inject_error(int) IS
    'test switch: the next step of the dataflow worker that applies changes fails with an ERROR, so the worker exits and is started again';
REVOKE ALL ON FUNCTION coordinator.debug_inject_error(int) FROM PUBLIC;

-- SUBSCRIBE (src/subscribe/): rows (mz_timestamp, [mz_progressed], mz_diff | mz_state, columns...).
-- Called alone in a select list, their columns get their types (rewrite.c).
CREATE FUNCTION coordinator.subscribe(
    target text, snapshot bool DEFAULT true, progress bool DEFAULT false,
    as_of bigint DEFAULT NULL, up_to bigint DEFAULT NULL, upsert_key text[] DEFAULT NULL)
    RETURNS SETOF record
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'coordinator_subscribe';
COMMENT ON FUNCTION coordinator.subscribe(text, bool, bool, bigint, bigint, text[]) IS
    'stream the changes of a maintained view, relation or query (SELECT ...): the snapshot at as_of, then each timestamp''s consolidated changes; call it alone in a select list, e.g. DECLARE c CURSOR FOR SELECT coordinator.subscribe(''v''); FETCH 10 c';

CREATE FUNCTION coordinator.subscribe_open(
    target text, snapshot bool DEFAULT true, progress bool DEFAULT false,
    as_of bigint DEFAULT NULL, up_to bigint DEFAULT NULL, upsert_key text[] DEFAULT NULL)
    RETURNS bigint
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'coordinator_subscribe_open';
COMMENT ON FUNCTION coordinator.subscribe_open(text, bool, bool, bigint, bigint, text[]) IS
    'open a polling subscription in this session (holds no snapshot between fetches); returns its id';

CREATE FUNCTION coordinator.subscribe_fetch(
    id bigint, max_rows int DEFAULT 1000, timeout interval DEFAULT '1 second')
    RETURNS SETOF record
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'coordinator_subscribe_fetch';
COMMENT ON FUNCTION coordinator.subscribe_fetch(bigint, int, interval) IS
    'up to max_rows rows of a polling subscription, waiting up to timeout for the first (and, under strict serializable, for every change committed before the fetch began); whole timestamps only';

CREATE FUNCTION coordinator.subscribe_close(id bigint) RETURNS void
    LANGUAGE C STRICT VOLATILE
    AS 'MODULE_PATHNAME', 'coordinator_subscribe_close';
COMMENT ON FUNCTION coordinator.subscribe_close(bigint) IS
    'end a polling subscription of this session';

CREATE FUNCTION coordinator.subscription_status(
    OUT id bigint, OUT pid int, OUT userid oid, OUT kind text, OUT relid oid, OUT name text,
    OUT worker int, OUT state text, OUT as_of bigint, OUT buffered_bytes bigint,
    OUT created_at timestamptz)
    RETURNS SETOF record
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_subscription_status';
COMMENT ON FUNCTION coordinator.subscription_status() IS
    'the open subscriptions, from shared memory; what they read (relid, name) only for roles with the privileges of their owner or of pg_read_all_stats';

CREATE VIEW coordinator.subscriptions AS
    SELECT s.id, s.pid, s.userid::pg_catalog.regrole AS owner, s.kind,
           s.name AS object,
           s.worker, s.state, s.as_of, s.buffered_bytes, s.created_at,
           s.relid, r.schemaname, r.relname
      FROM coordinator.subscription_status() s
      LEFT JOIN LATERAL coordinator.relation_name(s.relid::pg_catalog.regclass) r ON true;
COMMENT ON VIEW coordinator.subscriptions IS
    'open subscriptions: session pid, owner, what they read (only for roles with the privileges of the owner or of pg_read_all_stats), worker, state, snapshot timestamp, bytes the worker holds for them';
GRANT SELECT ON coordinator.subscriptions TO PUBLIC;

-- Webhook sources (src/webhook/): HTTP POSTs to
-- /api/webhook/<database>/<schema>/<table>, validated by an optional CHECK
-- and appended to a table, served by the listener on coordinator.webhook_port.

-- Secrets: readable and writable by the roles that can act as their owner
-- (row-level security), and by superusers.  A CHECK expression names them.
CREATE TABLE coordinator.secrets (
    owner oid NOT NULL,
    name text NOT NULL CHECK (name OPERATOR(pg_catalog.<>) ''),
    value text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (owner, name)
);
COMMENT ON TABLE coordinator.secrets IS
    'secrets for webhook CHECK expressions; each role sees only the rows of roles it can act as';
ALTER TABLE coordinator.secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY secrets_owner ON coordinator.secrets
    USING (pg_catalog.pg_has_role(owner, 'USAGE'))
    WITH CHECK (pg_catalog.pg_has_role(owner, 'USAGE'));
GRANT SELECT, INSERT, UPDATE, DELETE ON coordinator.secrets TO PUBLIC;

CREATE FUNCTION coordinator.create_secret(name text, value text) RETURNS void
    LANGUAGE plpgsql STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    INSERT INTO coordinator.secrets (owner, name, value)
    SELECT r.oid, create_secret.name, create_secret.value
      FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'secret "%" already exists', create_secret.name
        USING ERRCODE = 'duplicate_object',
              HINT = 'Use coordinator.alter_secret to change its value.';
END
$$;
COMMENT ON FUNCTION coordinator.create_secret(text, text) IS
    'store a secret owned by the current role, for webhook CHECK expressions';

CREATE FUNCTION coordinator.alter_secret(name text, value text) RETURNS void
    LANGUAGE plpgsql STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    UPDATE coordinator.secrets s SET value = alter_secret.value
      FROM pg_catalog.pg_roles r
     WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER
       AND s.owner OPERATOR(pg_catalog.=) r.oid
       AND s.name OPERATOR(pg_catalog.=) alter_secret.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'secret "%" does not exist', alter_secret.name
            USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION coordinator.alter_secret(text, text) IS
    'change the value of a secret of the current role; the next webhook request uses it';

CREATE FUNCTION coordinator.drop_secret(name text, if_exists boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    me oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER);
    user_of regclass;
BEGIN
    SELECT w.name INTO user_of
      FROM coordinator.webhook_sources w
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) w.relid
     WHERE c.relowner OPERATOR(pg_catalog.=) me
       AND drop_secret.name OPERATOR(pg_catalog.=) ANY (w.secrets)
     LIMIT 1;
    IF user_of IS NOT NULL THEN
        RAISE EXCEPTION 'cannot drop secret "%" because webhook source % depends on it', drop_secret.name, user_of
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Drop the webhook source first.';
    END IF;
    DELETE FROM coordinator.secrets s
     WHERE s.owner OPERATOR(pg_catalog.=) me AND s.name OPERATOR(pg_catalog.=) drop_secret.name;
    IF NOT FOUND THEN
        IF if_exists THEN
            RAISE NOTICE 'secret "%" does not exist, skipping', drop_secret.name;
        ELSE
            RAISE EXCEPTION 'secret "%" does not exist', drop_secret.name
                USING ERRCODE = 'undefined_object';
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION coordinator.drop_secret(text, boolean) IS
    'drop a secret of the current role (refused while a webhook source of the role reads it)';

CREATE FUNCTION coordinator.hmac(data text, key text, type text) RETURNS bytea
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'coordinator_hmac';
CREATE FUNCTION coordinator.hmac(data bytea, key bytea, type text) RETURNS bytea
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'coordinator_hmac';
COMMENT ON FUNCTION coordinator.hmac(text, text, text) IS
    'HMAC of data with key; type is md5, sha1, sha224, sha256, sha384 or sha512 (as pgcrypto''s hmac)';
COMMENT ON FUNCTION coordinator.hmac(bytea, bytea, text) IS
    'HMAC of data with key; type is md5, sha1, sha224, sha256, sha384 or sha512 (as pgcrypto''s hmac)';

CREATE FUNCTION coordinator.constant_time_eq(a text, b text) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'coordinator_constant_time_eq';
CREATE FUNCTION coordinator.constant_time_eq(a bytea, b bytea) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'coordinator_constant_time_eq';
COMMENT ON FUNCTION coordinator.constant_time_eq(text, text) IS
    'a = b in time that depends only on the lengths: compare signatures with it';
COMMENT ON FUNCTION coordinator.constant_time_eq(bytea, bytea) IS
    'a = b in time that depends only on the lengths: compare signatures with it';

CREATE FUNCTION coordinator.create_webhook_source(
    name text, body_format text DEFAULT 'text',
    include_headers boolean DEFAULT false, exclude_headers text[] DEFAULT '{}',
    header_columns text[] DEFAULT '{}',
    check_expression text DEFAULT NULL, secrets text[] DEFAULT '{}')
    RETURNS regclass
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'coordinator_create_webhook_source';
COMMENT ON FUNCTION coordinator.create_webhook_source(text, text, boolean, text[], text[], text, text[]) IS
    'create a table that receives HTTP POSTs to /api/webhook/<database>/<schema>/<name>: body (text, json, json array or bytes), optional headers, CHECK over body, headers and secrets';

CREATE FUNCTION coordinator.make_webhook_source(
    source regclass, body_format text DEFAULT 'text',
    include_headers boolean DEFAULT false, exclude_headers text[] DEFAULT '{}',
    header_columns text[] DEFAULT '{}',
    check_expression text DEFAULT NULL, secrets text[] DEFAULT '{}')
    RETURNS regclass
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'coordinator_make_webhook_source';
COMMENT ON FUNCTION coordinator.make_webhook_source(regclass, text, boolean, text[], text[], text, text[]) IS
    'make an existing table of the caller a webhook source (its rows stay; it needs the columns create_webhook_source would give it), e.g. again after DROP EXTENSION and CREATE EXTENSION';

CREATE FUNCTION coordinator.webhook_url(source regclass) RETURNS text
    LANGUAGE C STRICT STABLE
    AS 'MODULE_PATHNAME', 'coordinator_webhook_url';
COMMENT ON FUNCTION coordinator.webhook_url(regclass) IS
    'the URL that accepts POSTs for a webhook source, from coordinator.webhook_listen_address and coordinator.webhook_port (NULL when the port is 0); an error (42809) for a table that is not a source';

CREATE VIEW coordinator.webhook_sources AS
    SELECT w.relid::pg_catalog.regclass AS name, w.relid,
           coordinator.webhook_url(w.relid) AS url,
           w.body_format, w.include_headers, w.exclude_headers, w.header_columns,
           w.check_expression, w.secrets, w.created_at,
           n.nspname AS schemaname, c.relname
      FROM coordinator.catalog_webhooks w
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) w.relid
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE pg_catalog.has_table_privilege(w.relid, 'SELECT');
COMMENT ON VIEW coordinator.webhook_sources IS
    'webhook sources the current role may read: table, URL to POST to (NULL while coordinator.webhook_port is 0), body format, headers kept, CHECK expression, secrets it reads';
GRANT SELECT ON coordinator.webhook_sources TO PUBLIC;
