-- An error while maintaining a view (here a division by zero on a new row)
-- fails that view only: reads of it report the error, other views and the
-- worker keep going, and the failed view can be dropped.
CREATE SCHEMA er;
SET search_path = er, public;
CREATE TABLE src (a int);
INSERT INTO src VALUES (1), (2);
CREATE MATERIALIZED VIEW ratio WITH (incremental) AS SELECT 100 / a AS r FROM src;
CREATE MATERIALIZED VIEW copy WITH (incremental) AS SELECT a FROM src;
SELECT * FROM ratio ORDER BY r;

INSERT INTO src VALUES (0);
SELECT * FROM ratio ORDER BY r;
SELECT view, state, error FROM coordinator.frontiers
 WHERE view IN ('ratio'::regclass, 'copy'::regclass) ORDER BY view::text;

-- the other view over the same table is still maintained
INSERT INTO src VALUES (3);
SELECT * FROM copy ORDER BY a;

-- a view that cannot be hydrated fails the same way
CREATE MATERIALIZED VIEW ratio2 WITH (incremental) AS SELECT 10 / a AS r FROM src;
SELECT * FROM ratio2;
SELECT * FROM copy ORDER BY a;

DROP MATERIALIZED VIEW ratio;
DROP MATERIALIZED VIEW ratio2;
DELETE FROM src WHERE a = 0;
CREATE MATERIALIZED VIEW ratio WITH (incremental) AS SELECT 100 / a AS r FROM src;
SELECT * FROM ratio ORDER BY r;

DROP SCHEMA er CASCADE;
