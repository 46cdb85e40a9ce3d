-- Row-level security: a maintained view is computed as its owner sees the
-- tables, as REFRESH MATERIALIZED VIEW by the owner would: the policies
-- that apply to the owner apply (CURRENT_USER in them is the owner), none
-- for a superuser, a BYPASSRLS role or the table's owner (unless FORCE).
-- A change of a policy, of ROW LEVEL SECURITY, of the owner or of the
-- owner's roles brings the view back in line.
CREATE ROLE rls_owner;
CREATE ROLE rls_other;
CREATE ROLE rls_team;
CREATE SCHEMA rls;
GRANT USAGE, CREATE ON SCHEMA rls TO rls_owner, rls_other;
CREATE TABLE rls.notes (id int, author name, team text, body text);
INSERT INTO rls.notes VALUES
  (1, 'rls_owner', 'a', 'mine'), (2, 'rls_other', 'a', 'theirs'),
  (3, 'rls_owner', 'b', 'mine too'), (4, 'postgres', 'b', 'admin');
GRANT SELECT ON rls.notes TO rls_owner, rls_other;
ALTER TABLE rls.notes REPLICA IDENTITY FULL;
ALTER TABLE rls.notes ENABLE ROW LEVEL SECURITY;
-- pg_ivm's form: each role sees its own rows
CREATE POLICY own_rows ON rls.notes FOR SELECT TO PUBLIC USING (author = current_user);

SET ROLE rls_owner;
CREATE MATERIALIZED VIEW rls.my_notes WITH (incremental) AS
  SELECT id, body FROM rls.notes;
CREATE MATERIALIZED VIEW rls.per_team WITH (incremental) AS
  SELECT team, count(*) AS n FROM rls.notes GROUP BY team;
-- REFRESH of a plain materialized view by the same owner gives the same
CREATE MATERIALIZED VIEW rls.my_notes_plain AS SELECT id, body FROM rls.notes;
RESET ROLE;
SET ROLE rls_other;
CREATE MATERIALIZED VIEW rls.their_notes WITH (incremental) AS
  SELECT id, body FROM rls.notes;
RESET ROLE;
-- a superuser's view sees every row (superusers bypass policies)
CREATE MATERIALIZED VIEW rls.all_notes WITH (incremental) AS
  SELECT id, body FROM rls.notes;

SELECT * FROM rls.my_notes ORDER BY id;
SELECT * FROM rls.their_notes ORDER BY id;
SELECT count(*) FROM rls.all_notes;
SELECT * FROM rls.per_team ORDER BY team;

-- changes are maintained through the policy (rows move in and out of it)
INSERT INTO rls.notes VALUES (5, 'rls_owner', 'a', 'new'), (6, 'rls_other', 'b', 'new too');
UPDATE rls.notes SET author = 'rls_other' WHERE id = 1;
UPDATE rls.notes SET author = 'rls_owner' WHERE id = 2;
DELETE FROM rls.notes WHERE id = 3;
SELECT * FROM rls.my_notes ORDER BY id;
SELECT * FROM rls.their_notes ORDER BY id;
SELECT * FROM rls.per_team ORDER BY team;
SET ROLE rls_owner;
REFRESH MATERIALIZED VIEW rls.my_notes_plain;
RESET ROLE;
(TABLE rls.my_notes EXCEPT ALL TABLE rls.my_notes_plain)
UNION ALL (TABLE rls.my_notes_plain EXCEPT ALL TABLE rls.my_notes);

-- a second policy (permissive: either applies), for a role the owner
-- gains and loses
CREATE POLICY team_a ON rls.notes FOR SELECT TO rls_team USING (team = 'a');
SELECT * FROM rls.my_notes ORDER BY id;
GRANT rls_team TO rls_owner;
SELECT * FROM rls.my_notes ORDER BY id;
REVOKE rls_team FROM rls_owner;
SELECT * FROM rls.my_notes ORDER BY id;
-- ALTER POLICY
ALTER POLICY team_a ON rls.notes TO PUBLIC USING (team = 'b');
SELECT * FROM rls.my_notes ORDER BY id;
DROP POLICY team_a ON rls.notes;
SELECT * FROM rls.my_notes ORDER BY id;

-- DISABLE and ENABLE ROW LEVEL SECURITY
ALTER TABLE rls.notes DISABLE ROW LEVEL SECURITY;
SELECT count(*) FROM rls.my_notes;
ALTER TABLE rls.notes ENABLE ROW LEVEL SECURITY;
SELECT count(*) FROM rls.my_notes;

-- the owner changes: the new owner's policies apply
ALTER MATERIALIZED VIEW rls.my_notes OWNER TO rls_other;
SELECT * FROM rls.my_notes ORDER BY id;
ALTER MATERIALIZED VIEW rls.my_notes OWNER TO rls_owner;
SELECT * FROM rls.my_notes ORDER BY id;

-- the table's owner is exempt unless FORCE ROW LEVEL SECURITY
CREATE TABLE rls.own (id int, author name);
INSERT INTO rls.own VALUES (1, 'rls_owner'), (2, 'nobody');
ALTER TABLE rls.own OWNER TO rls_owner;
ALTER TABLE rls.own ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON rls.own USING (author = current_user);
SET ROLE rls_owner;
CREATE MATERIALIZED VIEW rls.own_view WITH (incremental) AS SELECT id FROM rls.own;
RESET ROLE;
SELECT * FROM rls.own_view ORDER BY id;
ALTER TABLE rls.own FORCE ROW LEVEL SECURITY;
SELECT * FROM rls.own_view ORDER BY id;

-- through a plain view of another role: that role's policies apply (as
-- in Postgres), and CURRENT_USER is still the maintained view's owner
CREATE POLICY team_b ON rls.notes FOR SELECT TO rls_other USING (team = 'b');
CREATE VIEW rls.other_notes AS SELECT id, author, team FROM rls.notes;
ALTER VIEW rls.other_notes OWNER TO rls_other;
GRANT SELECT ON rls.other_notes TO rls_owner;
SET ROLE rls_owner;
CREATE MATERIALIZED VIEW rls.via_view WITH (incremental) AS SELECT id, author, team FROM rls.other_notes;
CREATE MATERIALIZED VIEW rls.via_view_plain AS SELECT id, author, team FROM rls.other_notes;
RESET ROLE;
SELECT * FROM rls.via_view ORDER BY id;
ALTER POLICY team_b ON rls.notes USING (team = 'a');
SELECT * FROM rls.via_view ORDER BY id;
SET ROLE rls_owner;
REFRESH MATERIALIZED VIEW rls.via_view_plain;
RESET ROLE;
(TABLE rls.via_view EXCEPT ALL TABLE rls.via_view_plain)
UNION ALL (TABLE rls.via_view_plain EXCEPT ALL TABLE rls.via_view);
DROP POLICY team_b ON rls.notes;

-- a policy that is not IMMUTABLE apart from CURRENT_USER is refused
CREATE POLICY by_setting ON rls.notes FOR SELECT TO rls_other
  USING (team = current_setting('app.team', true));
SET ROLE rls_other;
CREATE MATERIALIZED VIEW rls.refused WITH (incremental) AS SELECT id FROM rls.notes;
RESET ROLE;
-- and so is one that comes to apply later: the view reports it
SELECT count(*) FROM rls.their_notes;

DROP SCHEMA rls CASCADE;
DROP ROLE rls_owner, rls_other, rls_team;
