-- 1000 seeded single-row inserts, updates (also to NULL) and deletes, each
-- its own transaction, then one strict read: the view equals its query.
CREATE SCHEMA rnd;
SET search_path = rnd, public;
CREATE TABLE src (id int, grp int, val numeric, note text);
CREATE MATERIALIZED VIEW v WITH (incremental) AS
  SELECT id, grp, val * 2 AS val2, lower(note) AS note
    FROM src WHERE grp IS DISTINCT FROM 3;

CREATE PROCEDURE churn(n int) LANGUAGE plpgsql AS $$
DECLARE
  op float8;
  target int;
BEGIN
  PERFORM setseed(0.42);
  FOR i IN 1..n LOOP
    op := random();
    target := floor(random() * 60)::int;
    IF op < 0.45 THEN
      INSERT INTO src VALUES (target,
        CASE WHEN random() < 0.1 THEN NULL ELSE floor(random() * 5)::int END,
        CASE WHEN random() < 0.1 THEN NULL ELSE round((random() * 100)::numeric, 2) END,
        CASE WHEN random() < 0.1 THEN NULL ELSE 'Note ' || i END);
    ELSIF op < 0.65 THEN
      UPDATE src SET val = CASE WHEN random() < 0.2 THEN NULL ELSE val + 1 END
       WHERE ctid = (SELECT ctid FROM src WHERE id = target LIMIT 1);
    ELSIF op < 0.8 THEN
      UPDATE src SET grp = CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 5)::int END,
                     note = CASE WHEN random() < 0.2 THEN NULL ELSE upper(coalesce(note, 'x')) END
       WHERE ctid = (SELECT ctid FROM src WHERE id = target LIMIT 1);
    ELSE
      DELETE FROM src WHERE ctid = (SELECT ctid FROM src WHERE id = target LIMIT 1);
    END IF;
    COMMIT;
  END LOOP;
END $$;

CALL churn(1000);

SELECT count(*) > 0 AS nonempty FROM v;
SELECT (SELECT count(*) FROM (TABLE v EXCEPT ALL
          SELECT id, grp, val * 2, lower(note) FROM src WHERE grp IS DISTINCT FROM 3) a) AS extra,
       (SELECT count(*) FROM (SELECT id, grp, val * 2, lower(note) FROM src
          WHERE grp IS DISTINCT FROM 3 EXCEPT ALL TABLE v) b) AS missing,
       (SELECT count(*) FROM v) = (SELECT count(*) FROM src WHERE grp IS DISTINCT FROM 3) AS same_count;

DROP SCHEMA rnd CASCADE;
