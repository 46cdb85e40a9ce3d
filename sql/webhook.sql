-- Webhook sources without HTTP (this instance runs no listener; TAP test
-- 008_webhook posts to one): HMAC, secrets, creation and what it refuses,
-- the catalog and dependencies, sources outliving DROP EXTENSION.
CREATE SCHEMA wh;
SET search_path = wh, public;
\set VERBOSITY default

-- HMAC: the issue's known-answer vector, RFC 4231 test case 2, bytea and hex.
SELECT encode(coordinator.hmac('body=hello world', 'test_key', 'sha256'), 'base64');
SELECT encode(coordinator.hmac('what do ya want for nothing?', 'Jefe', 'sha256'), 'hex');
SELECT encode(coordinator.hmac('what do ya want for nothing?'::bytea, 'Jefe'::bytea, 'SHA512'), 'hex');
SELECT encode(coordinator.hmac('what do ya want for nothing?', 'Jefe', 'md5'), 'hex');
SELECT coordinator.hmac('x', 'k', 'sha3');
SELECT coordinator.constant_time_eq('abc', 'abc'), coordinator.constant_time_eq('abc', 'abd'),
       coordinator.constant_time_eq('abc', 'ab'), coordinator.constant_time_eq(''::bytea, ''::bytea),
       coordinator.constant_time_eq('abc', NULL);

-- Secrets: each role sees and changes only its own.
CREATE ROLE wh_alice;
CREATE ROLE wh_bob;
GRANT CREATE, USAGE ON SCHEMA wh TO wh_alice, wh_bob;
SET ROLE wh_alice;
SELECT coordinator.create_secret('signing_key', 'test_key');
SELECT coordinator.create_secret('signing_key', 'again');
SELECT coordinator.create_secret('other', 'x');
SELECT name, value FROM coordinator.secrets ORDER BY name;
SET ROLE wh_bob;
SELECT count(*) FROM coordinator.secrets;
SELECT coordinator.alter_secret('signing_key', 'stolen');
SELECT coordinator.drop_secret('signing_key');
SELECT coordinator.drop_secret('signing_key', if_exists => true);
UPDATE coordinator.secrets SET value = 'stolen';
INSERT INTO coordinator.secrets (owner, name, value) VALUES ('wh_alice'::regrole, 'planted', 'x');
SELECT coordinator.create_secret('signing_key', 'bobs');
RESET ROLE;

-- A signed source of wh_alice, reading her secret.
SET ROLE wh_alice;
SELECT coordinator.create_webhook_source('signed',
    include_headers => true, exclude_headers => '{Authorization}',
    header_columns => '{X-Event-Type}',
    check_expression => $$coordinator.constant_time_eq(
        encode(coordinator.hmac(body, signing_key, 'sha256'), 'base64'), headers->>'x-signature')$$,
    secrets => '{signing_key}');
\d signed
SELECT name, url, body_format, include_headers, exclude_headers, header_columns, secrets
  FROM coordinator.webhook_sources;
SELECT name, value FROM coordinator.secrets ORDER BY name;
SELECT coordinator.alter_secret('signing_key', 'rotated');
SELECT coordinator.drop_secret('signing_key');
SELECT coordinator.drop_secret('other');
RESET ROLE;

-- Body formats and their column types.
SELECT coordinator.create_webhook_source('as_json', body_format => 'json');
SELECT coordinator.create_webhook_source('as_array', body_format => 'JSON ARRAY');
SELECT coordinator.create_webhook_source('wh.as_bytes', body_format => 'bytes',
    check_expression => $$length(body) < 100$$);
SELECT attrelid::regclass, attname, atttypid::regtype, attnotnull
  FROM pg_attribute
 WHERE attrelid IN ('as_json'::regclass, 'as_array'::regclass, 'as_bytes'::regclass) AND attnum > 0
 ORDER BY 1, attnum;

-- A maintained view can read a webhook source.
CREATE MATERIALIZED VIEW json_ids WITH (incremental) AS
    SELECT (body->>'id')::int AS id FROM as_json;
INSERT INTO as_json (body) VALUES ('{"id": 1}'), ('{"id": 2}');
SELECT * FROM json_ids ORDER BY id;

-- What creation refuses.
CREATE SEQUENCE s;
SELECT coordinator.create_webhook_source('bad', check_expression => 'true');
SELECT coordinator.create_webhook_source('bad', check_expression => 'length(body)');
SELECT coordinator.create_webhook_source('bad', check_expression => 'body = current_user');
SELECT coordinator.create_webhook_source('bad', check_expression => $$body = (SELECT 'x')$$);
SELECT coordinator.create_webhook_source('bad', check_expression => 'body::timestamptz < now()');
SELECT coordinator.create_webhook_source('bad', check_expression => 'random() < 0.5 AND body IS NOT NULL');
SELECT coordinator.create_webhook_source('bad', check_expression => $$nextval('s') > 0 AND body <> ''$$);
SELECT coordinator.create_webhook_source('bad', check_expression => 'count(body) > 0');
SELECT coordinator.create_webhook_source('bad', check_expression => 'true) FROM pg_class; SELECT (1');
SELECT coordinator.create_webhook_source('bad', check_expression => 'body <> $$$$ AS x');
SELECT coordinator.create_webhook_source('bad', check_expression => 'body = nosuch');
SELECT coordinator.create_webhook_source('bad', check_expression => 'body = k', secrets => '{k}');
SELECT coordinator.create_webhook_source('bad', secrets => '{k}');
SELECT coordinator.create_webhook_source('bad', body_format => 'xml');
SELECT coordinator.create_webhook_source('bad', header_columns => '{"a b"}');
SELECT coordinator.create_webhook_source('bad', header_columns => '{x-a,X_A}');
SELECT coordinator.create_webhook_source('bad', header_columns => '{body}');
SELECT coordinator.create_webhook_source('bad', header_columns => '{x-a,x-a}');
SELECT coordinator.create_webhook_source('bad', header_columns => '{NULL}');
SELECT coordinator.create_webhook_source('bad', exclude_headers => '{authorization}');
SELECT coordinator.create_webhook_source('bad', body_format => NULL);
SELECT coordinator.create_webhook_source('pg_temp.bad');
SELECT coordinator.create_webhook_source('as_json');
SELECT coordinator.create_webhook_source('nosuchschema.bad');
-- now() is allowed (the time of the transaction that appends the request),
-- but not what is only STABLE, as extract() from a timestamptz.
SELECT coordinator.create_webhook_source('fresh',
    check_expression => $$(headers->>'x-sent-at')::bigint > extract(epoch FROM now()) - 300$$);
SELECT coordinator.create_webhook_source('fresh',
    check_expression => $$to_timestamp((headers->>'x-sent-at')::float8 + 300) > now()$$);

-- The CHECK's functions are fixed at creation and the table depends on them.
CREATE FUNCTION is_hello(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$SELECT t = 'hello'$$;
SELECT coordinator.create_webhook_source('hello', check_expression => 'wh.is_hello(body)');
DROP FUNCTION is_hello(text);
SET search_path = public;
SELECT check_expression FROM coordinator.webhook_sources WHERE relid = 'wh.hello'::regclass;
SET search_path = wh, public;
-- CASCADE would drop the source with its rows: refused, also through a
-- schema that holds only the function
INSERT INTO hello VALUES ('hello');
DROP FUNCTION is_hello(text) CASCADE;
CREATE SCHEMA wh_checks;
CREATE FUNCTION wh_checks.is_hi(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$SELECT t = 'hi'$$;
SELECT coordinator.create_webhook_source('hi', check_expression => 'wh_checks.is_hi(body)');
INSERT INTO hi VALUES ('hi');
DROP SCHEMA wh_checks CASCADE;
SELECT (SELECT count(*) FROM hello) AS hello_rows, (SELECT count(*) FROM hi) AS hi_rows;
-- dropping the table itself goes, then the function
DROP TABLE hello, hi;
DROP FUNCTION is_hello(text);
DROP SCHEMA wh_checks CASCADE;
SELECT count(*) AS orphans FROM coordinator.catalog_webhooks c
 WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = c.relid);

-- Renames are followed; DROP removes the catalog row.  What a dump saves
-- (coordinator.webhook_options) is kept in step: one row per source, as
-- defined, named as the table is now.
ALTER TABLE as_array RENAME TO as_array2;
SELECT name, url FROM coordinator.webhook_sources WHERE name::text LIKE 'as_array%';
SELECT source, body_format, include_headers, exclude_headers, header_columns
  FROM coordinator.webhook_options WHERE source::text LIKE 'as_array%';
DROP TABLE as_array2;
SELECT name FROM coordinator.webhook_sources ORDER BY name::text;
SELECT (SELECT array_agg(source::text ORDER BY source::text) FROM coordinator.webhook_options)
     = (SELECT array_agg(name::text ORDER BY name::text) FROM coordinator.webhook_sources)
       AS options_in_step_with_sources;

-- A rolled-back creation leaves nothing.
BEGIN;
SELECT coordinator.create_webhook_source('rolled_back');
ROLLBACK;
SELECT count(*) FROM pg_class WHERE relname = 'rolled_back';
SELECT count(*) FROM coordinator.webhook_sources WHERE name::text = 'rolled_back';

-- coordinator.webhook_url names only sources.
CREATE TABLE orders (body text);
SELECT coordinator.webhook_url('as_json');
SELECT coordinator.webhook_url('orders');

-- make_webhook_source: an existing table of the caller with the columns
-- create_webhook_source would give it.
SELECT coordinator.make_webhook_source('orders', body_format => 'json');
SELECT coordinator.make_webhook_source('as_json', body_format => 'json');
SELECT coordinator.make_webhook_source('json_ids');
SELECT coordinator.make_webhook_source('orders', header_columns => '{X-Id}');
SET ROLE wh_alice;
SELECT coordinator.make_webhook_source('wh.orders');
RESET ROLE;
SELECT coordinator.make_webhook_source('orders');
SELECT name, url FROM coordinator.webhook_sources WHERE name = 'orders'::regclass;
DROP TABLE orders;

-- DROP EXTENSION keeps every source and its rows, as a plain table, with a
-- NOTICE giving the call that makes it a source again; the CHECK's
-- dependencies go with it, and the extension's functions in a CHECK
-- (signed reads coordinator.hmac) never took the table with them.
-- Maintained views over a source are dropped with the extension.
CREATE FUNCTION is_hi(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$SELECT t = 'hi'$$;
SELECT coordinator.create_webhook_source('hi', check_expression => 'wh.is_hi(body)');
INSERT INTO hi VALUES ('hi');
INSERT INTO signed (body, headers) VALUES ('signed row', '{}');
BEGIN;
DROP EXTENSION coordinator CASCADE;
SELECT relname FROM pg_class WHERE relnamespace = 'wh'::regnamespace AND relkind IN ('r', 'm')
 ORDER BY relname;
SELECT (SELECT count(*) FROM signed) AS signed, (SELECT count(*) FROM as_json) AS as_json,
       (SELECT count(*) FROM hi) AS hi;
DROP FUNCTION is_hi(text);
SELECT count(*) FROM hi;
CREATE EXTENSION coordinator;
SELECT coordinator.make_webhook_source('hi');
SELECT name FROM coordinator.webhook_sources ORDER BY name::text;
ROLLBACK;
-- also without CASCADE, when no maintained view is in the way
DROP MATERIALIZED VIEW json_ids;
BEGIN;
DROP EXTENSION coordinator;
SELECT count(*) FROM signed;
ROLLBACK;
SELECT name FROM coordinator.webhook_sources ORDER BY name::text;
DROP TABLE hi;
DROP FUNCTION is_hi(text);

-- A secret can be dropped once no source reads it.
SET ROLE wh_alice;
DROP TABLE signed;
SELECT coordinator.drop_secret('signing_key');
SELECT coordinator.create_secret('kept', 'x');
RESET ROLE;

-- DROP OWNED drops the sources the role owns, as it drops its tables
CREATE ROLE wh_carol;
GRANT CREATE, USAGE ON SCHEMA wh TO wh_carol;
SET ROLE wh_carol;
SELECT coordinator.create_webhook_source('wh.carols') IS NOT NULL AS created;
RESET ROLE;
DROP OWNED BY wh_carol;
SELECT to_regclass('wh.carols') IS NULL AS dropped_with_its_owner;
DROP ROLE wh_carol;

-- Roles own their secrets: DROP ROLE is refused while they have some,
-- REASSIGN OWNED hands them over, DROP OWNED drops them.
DROP SCHEMA wh CASCADE;
DROP ROLE wh_bob;
REASSIGN OWNED BY wh_bob TO wh_alice;
SELECT owner::regrole, name FROM coordinator.secrets ORDER BY name;
DROP ROLE wh_bob;
DROP OWNED BY wh_alice;
SELECT count(*) FROM coordinator.secrets;
DROP ROLE wh_alice;
