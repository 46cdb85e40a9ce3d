-- Setup: configuration, the coordinator's processes, and setup errors that a
-- single server can show (the others are in test/t/001_setup.pl).

SHOW coordinator.database;
SHOW coordinator.isolation;
SHOW coordinator.dataflow_workers;

-- the GUC prefix is reserved
SET coordinator.no_such_setting = 1;

-- invalid values are refused
SET coordinator.isolation = 'linearizable';

SELECT coordinator.check_setup();

-- the catalog relations exist and are empty
SELECT count(*) FROM coordinator.objects;
SELECT count(*) FROM coordinator.sources;
SELECT count(*) FROM coordinator.frontiers;

-- the coordinator launches its dataflow worker (bounded poll, 60 s)
DO $$
BEGIN
  FOR i IN 1..600 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM coordinator.workers WHERE pid IS NOT NULL);
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT worker, pid IS NOT NULL AS running, launches >= 1 AS launched
  FROM coordinator.workers;
SELECT backend_type, count(*)
  FROM pg_stat_activity
 WHERE backend_type LIKE 'coordinator%'
 GROUP BY 1 ORDER BY 1;

-- only the configured database can have the extension
CREATE DATABASE regress_coordinator_other;
\c regress_coordinator_other
CREATE EXTENSION coordinator;
CREATE TABLE t (a int);
CREATE MATERIALIZED VIEW v WITH (incremental) AS SELECT a FROM t;
\c contrib_regression
DROP DATABASE regress_coordinator_other;

-- debug switch is not for everyone
CREATE ROLE regress_coordinator_user;
SET ROLE regress_coordinator_user;
SELECT coordinator.debug_pause_workers(true);
RESET ROLE;
DROP ROLE regress_coordinator_user;
