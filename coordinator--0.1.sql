/* coordinator--0.1.sql */

\echo Use "CREATE EXTENSION coordinator" to load this file. \quit

-- Refuse to install on a server that cannot run maintained views.
CREATE FUNCTION coordinator.check_setup() RETURNS void
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_check_setup';
COMMENT ON FUNCTION coordinator.check_setup() IS
    'raises an error with a hint if the server configuration cannot run maintained views';
SELECT coordinator.check_setup();

-- The catalog.
CREATE TABLE coordinator.objects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relid oid NOT NULL UNIQUE,
    kind text NOT NULL,
    definition text NOT NULL,
    plan text NOT NULL,
    owner oid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE coordinator.objects IS
    'maintained objects: relation, kind, definition as written, compiled dataflow plan, owner';

CREATE TABLE coordinator.sources (
    object_id bigint NOT NULL REFERENCES coordinator.objects (id) ON DELETE CASCADE,
    relid oid NOT NULL,
    PRIMARY KEY (object_id, relid)
);
COMMENT ON TABLE coordinator.sources IS
    'the tables each maintained object reads';

GRANT USAGE ON SCHEMA coordinator TO PUBLIC;
GRANT SELECT ON coordinator.objects, coordinator.sources TO PUBLIC;

CREATE FUNCTION coordinator.create_materialized_view(name text, query text)
    RETURNS regclass
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_create_materialized_view';
COMMENT ON FUNCTION coordinator.create_materialized_view(text, text) IS
    'CREATE MATERIALIZED VIEW name WITH (incremental) AS query, for clients that cannot pass reloptions';

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
BEGIN
    WITH gone AS (
        DELETE FROM coordinator.objects o
         USING pg_catalog.pg_event_trigger_dropped_objects() d
         WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.objid OPERATOR(pg_catalog.=) o.relid
        RETURNING o.id)
    SELECT pg_catalog.count(*) INTO dropped FROM gone;
    IF dropped OPERATOR(pg_catalog.>) 0 THEN
        PERFORM coordinator.notify_catalog_change();
    END IF;
END
$$;
COMMENT ON FUNCTION coordinator.on_sql_drop() IS
    'internal: removes dropped maintained views from the catalog';
REVOKE ALL ON FUNCTION coordinator.on_sql_drop() FROM PUBLIC;

CREATE EVENT TRIGGER coordinator_sql_drop ON sql_drop
    EXECUTE FUNCTION coordinator.on_sql_drop();

-- Introspection.
CREATE FUNCTION coordinator.view_frontiers(
    OUT relid oid, OUT worker int, OUT state text, OUT upper pg_lsn, OUT error text,
    OUT arranged_rows bigint, OUT dataflow_bytes bigint)
    RETURNS SETOF record
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_view_frontiers';
COMMENT ON FUNCTION coordinator.view_frontiers() IS
    'the frontier of every maintained view, from shared memory';

CREATE VIEW coordinator.frontiers AS
    SELECT f.relid::pg_catalog.regclass AS view, f.worker, f.state, f.upper,
           pg_catalog.pg_current_wal_flush_lsn() AS flushed,
           pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_flush_lsn(), f.upper) AS lag_bytes,
           f.error, f.arranged_rows, f.dataflow_bytes
      FROM coordinator.view_frontiers() f;
COMMENT ON VIEW coordinator.frontiers IS
    'per maintained view: state, upper frontier (every commit ending at or before it is reflected), lag behind the flushed WAL, error, rows held in its arrangements and memory of its dataflow';

CREATE FUNCTION coordinator.worker_status(
    OUT worker int, OUT pid int, OUT launches bigint, OUT decoded pg_lsn)
    RETURNS SETOF record
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_worker_status';
COMMENT ON FUNCTION coordinator.worker_status() IS
    'the dataflow workers, from shared memory';

CREATE VIEW coordinator.workers AS
    SELECT * FROM coordinator.worker_status();
COMMENT ON VIEW coordinator.workers IS
    'dataflow workers: index, pid (NULL when not running), launches since server start, WAL position decoded';

CREATE FUNCTION coordinator.debug_pause_workers(paused bool) RETURNS void
    LANGUAGE C STRICT
    AS 'MODULE_PATHNAME', 'coordinator_debug_pause_workers';
COMMENT ON FUNCTION coordinator.debug_pause_workers(bool) IS
    'test switch: while true, dataflow workers stop consuming the WAL and views fall behind';
REVOKE ALL ON FUNCTION coordinator.debug_pause_workers(bool) FROM PUBLIC;
