-- What arrangements hold: the distinct rows a join reads, each once with
-- its multiplicity, without the columns no operator reads.
CREATE SCHEMA arr;
SET search_path = arr, public;

CREATE TABLE wide (k int, grp int, payload text);
CREATE TABLE labels (grp int, label text);
-- payload: over 2 kB per row once decompressed (arrangements hold rows
-- detoasted and decompressed)
INSERT INTO wide SELECT i, i % 10, repeat('x', 2000) || i FROM generate_series(1, 1000) i;
INSERT INTO labels SELECT g, 'g' || g FROM generate_series(0, 9) g;

-- reads k and grp of wide, never payload
CREATE MATERIALIZED VIEW narrow_join WITH (incremental) AS
  SELECT w.k, l.label FROM wide w JOIN labels l ON w.grp = l.grp;
-- payload only in the scan's filter, which runs before the join
CREATE MATERIALIZED VIEW filtered_join WITH (incremental) AS
  SELECT w.k, l.label FROM wide w JOIN labels l ON w.grp = l.grp
   WHERE w.payload LIKE '%7';
-- a non-equality join (a nested loop over a Material)
CREATE MATERIALIZED VIEW range_join WITH (incremental) AS
  SELECT w.k, l.label FROM wide w JOIN labels l ON w.grp < l.grp AND w.k % 100 = 0;
-- reads payload: kept
CREATE MATERIALIZED VIEW payload_join WITH (incremental) AS
  SELECT w.k, length(w.payload) AS len, l.label FROM wide w JOIN labels l ON w.grp = l.grp;
-- duplicates of wide's (grp) side: after pruning, the rows of one group
-- are one arranged row with a multiplicity
CREATE MATERIALIZED VIEW counted_join WITH (incremental) AS
  SELECT l.label, count(*) AS n FROM wide w JOIN labels l ON w.grp = l.grp GROUP BY l.label;
-- an aggregate that keeps its groups' rows (string_agg's state is as large
-- as its input), over a scan the planner gives every column: payload is
-- not kept either
CREATE MATERIALIZED VIEW narrow_agg WITH (incremental) AS
  SELECT grp, string_agg(k::text, ',' ORDER BY k) AS ks, count(*) AS n FROM wide GROUP BY grp;
SELECT count(*) FROM narrow_join, filtered_join, range_join, payload_join, counted_join, narrow_agg
 WHERE false;

-- 1,000 rows of over 2 kB: without payload they take well under 200 kB
SELECT v.relname, a.arrangement, a.records, a.bytes < 200000 AS under_200kb
  FROM coordinator.arrangements a JOIN pg_class v ON v.oid = a.object
 WHERE v.relname IN ('narrow_join', 'filtered_join', 'range_join', 'payload_join', 'counted_join', 'narrow_agg')
   AND (a.arrangement LIKE 'join%' OR v.relname = 'narrow_agg')
 ORDER BY 1, 2;

CREATE FUNCTION arr.differences() RETURNS TABLE (view text, n bigint) LANGUAGE sql AS $$
  SELECT 'narrow_join', count(*) FROM (
    (TABLE narrow_join EXCEPT ALL SELECT w.k, l.label FROM wide w JOIN labels l ON w.grp = l.grp)
    UNION ALL
    (SELECT w.k, l.label FROM wide w JOIN labels l ON w.grp = l.grp EXCEPT ALL TABLE narrow_join)) d
  UNION ALL
  SELECT 'filtered_join', count(*) FROM (
    (TABLE filtered_join EXCEPT ALL SELECT w.k, l.label FROM wide w JOIN labels l ON w.grp = l.grp WHERE w.payload LIKE '%7')
    UNION ALL
    (SELECT w.k, l.label FROM wide w JOIN labels l ON w.grp = l.grp WHERE w.payload LIKE '%7' EXCEPT ALL TABLE filtered_join)) d
  UNION ALL
  SELECT 'range_join', count(*) FROM (
    (TABLE range_join EXCEPT ALL SELECT w.k, l.label FROM wide w JOIN labels l ON w.grp < l.grp AND w.k % 100 = 0)
    UNION ALL
    (SELECT w.k, l.label FROM wide w JOIN labels l ON w.grp < l.grp AND w.k % 100 = 0 EXCEPT ALL TABLE range_join)) d
  UNION ALL
  SELECT 'payload_join', count(*) FROM (
    (TABLE payload_join EXCEPT ALL SELECT w.k, length(w.payload), l.label FROM wide w JOIN labels l ON w.grp = l.grp)
    UNION ALL
    (SELECT w.k, length(w.payload), l.label FROM wide w JOIN labels l ON w.grp = l.grp EXCEPT ALL TABLE payload_join)) d
  UNION ALL
  SELECT 'counted_join', count(*) FROM (
    (TABLE counted_join EXCEPT ALL SELECT l.label, count(*) FROM wide w JOIN labels l ON w.grp = l.grp GROUP BY l.label)
    UNION ALL
    (SELECT l.label, count(*) FROM wide w JOIN labels l ON w.grp = l.grp GROUP BY l.label EXCEPT ALL TABLE counted_join)) d
  UNION ALL
  SELECT 'narrow_agg', count(*) FROM (
    (TABLE narrow_agg EXCEPT ALL SELECT grp, string_agg(k::text, ',' ORDER BY k), count(*) FROM wide GROUP BY grp)
    UNION ALL
    (SELECT grp, string_agg(k::text, ',' ORDER BY k), count(*) FROM wide GROUP BY grp EXCEPT ALL TABLE narrow_agg)) d
$$;
SELECT * FROM arr.differences();

-- changes of the pruned column alone, of the group, deletes of one of two
-- equal arranged rows, and of both
UPDATE wide SET payload = payload || 'y' WHERE k % 3 = 0;
UPDATE wide SET grp = (grp + 1) % 10 WHERE k % 7 = 0;
DELETE FROM wide WHERE k % 10 = 1;
INSERT INTO wide SELECT k + 5000, grp, 'short' FROM wide WHERE k < 50;
DELETE FROM labels WHERE grp = 4;
SELECT * FROM arr.differences();
SELECT v.relname, a.arrangement, a.records
  FROM coordinator.arrangements a JOIN pg_class v ON v.oid = a.object
 WHERE v.relname IN ('narrow_join', 'counted_join') AND a.arrangement LIKE 'join%'
 ORDER BY 1, 2;
TRUNCATE wide;
SELECT * FROM arr.differences();
SELECT v.relname, a.arrangement, a.records
  FROM coordinator.arrangements a JOIN pg_class v ON v.oid = a.object
 WHERE v.relname = 'counted_join' AND a.arrangement LIKE 'join%'
 ORDER BY 1, 2;

-- a join the planner made a nested loop (here by forbidding the others; a
-- misestimate does it too) is arranged by the equalities of its condition,
-- not all rows under one key: an EXISTS with an equality and an
-- inequality, and a left join
CREATE TABLE arr.items (o int, s int);
INSERT INTO arr.items SELECT o, s FROM generate_series(1, 200) o, generate_series(1, 3) s;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
CREATE MATERIALIZED VIEW arr.nested_exists WITH (incremental) AS
  SELECT a.o, a.s FROM arr.items a
   WHERE EXISTS (SELECT 1 FROM arr.items b WHERE b.o = a.o AND b.s <> a.s AND b.s > 1);
CREATE MATERIALIZED VIEW arr.nested_left WITH (incremental) AS
  SELECT a.o, a.s, b.s AS s2 FROM arr.items a LEFT JOIN arr.items b ON a.o + 0 = b.o * 1 AND b.s = 3;
RESET enable_hashjoin;
RESET enable_mergejoin;
SELECT count(*) FROM arr.nested_exists, arr.nested_left WHERE false;
SELECT v.relname, a.arrangement, a.keys
  FROM coordinator.arrangements a JOIN pg_class v ON v.oid = a.object
 WHERE v.relname IN ('nested_exists', 'nested_left') AND a.arrangement LIKE 'join%'
 ORDER BY 1, 2;
DELETE FROM arr.items WHERE s = 2 AND o % 3 = 0;
UPDATE arr.items SET s = 3 WHERE s = 1 AND o % 5 = 0;
INSERT INTO arr.items VALUES (201, 1), (201, 2), (NULL, 2);
SELECT count(*) AS exists_differences FROM (
  (TABLE arr.nested_exists EXCEPT ALL SELECT a.o, a.s FROM arr.items a
    WHERE EXISTS (SELECT 1 FROM arr.items b WHERE b.o = a.o AND b.s <> a.s AND b.s > 1))
  UNION ALL
  (SELECT a.o, a.s FROM arr.items a
    WHERE EXISTS (SELECT 1 FROM arr.items b WHERE b.o = a.o AND b.s <> a.s AND b.s > 1)
   EXCEPT ALL TABLE arr.nested_exists)) d;
SELECT count(*) AS left_differences FROM (
  (TABLE arr.nested_left EXCEPT ALL
   SELECT a.o, a.s, b.s FROM arr.items a LEFT JOIN arr.items b ON a.o + 0 = b.o * 1 AND b.s = 3)
  UNION ALL
  (SELECT a.o, a.s, b.s FROM arr.items a LEFT JOIN arr.items b ON a.o + 0 = b.o * 1 AND b.s = 3
   EXCEPT ALL TABLE arr.nested_left)) d;

DROP SCHEMA arr CASCADE;
