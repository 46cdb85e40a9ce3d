# No free replication slot, or no free background worker slot: a maintained
# view's worker cannot start.  Reads of the view fail at once with the
# reason (no hang); once the resource is there the worker starts on its own
# and the view is correct.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('no_slot', "max_replication_slots = 1\n");
$node->safe_psql('postgres', q{
	SELECT pg_create_physical_replication_slot('hog');
	CREATE EXTENSION coordinator;
	CREATE TABLE t (k int);
	ALTER TABLE t REPLICA IDENTITY FULL;
	INSERT INTO t SELECT generate_series(1, 10);
	CREATE MATERIALIZED VIEW v WITH (incremental) AS SELECT count(*) AS n FROM t;
});

# the worker fails to create its slot (and retries); wait until it said so
ok($node->poll_query_until('postgres', q{
	SELECT last_error <> '' FROM coordinator.objects WHERE relid = 'v'::regclass}),
	'the view records why its worker cannot start');
my ($ret, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '30s'; SELECT n FROM v");
isnt($ret, 0, 'a read of the view fails');
like($err, qr/maintained view "v" cannot start: all replication slots are in use/,
	'with the reason');
unlike($err, qr/statement timeout/, 'at once, not after a wait');

$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('hog')});
ok($node->poll_query_until('postgres',
		q{SELECT state = 'running' FROM coordinator.objects WHERE relid = 'v'::regclass}),
	'once a slot is free the worker starts');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (11)');
is($node->safe_psql('postgres', 'SELECT n FROM v'), '11', 'and the view is current');

$node->stop;

# the launcher, the logical replication launcher and the coordinator take
# the three background worker slots: no dataflow worker can start
my $tight = CoordinatorNode->new('no_worker', "max_worker_processes = 3\n");
$tight->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE t (k int);
	ALTER TABLE t REPLICA IDENTITY FULL;
	INSERT INTO t SELECT generate_series(1, 5);
	CREATE MATERIALIZED VIEW v WITH (incremental) AS SELECT count(*) AS n FROM t;
});
ok($tight->poll_query_until('postgres', q{
	SELECT last_error <> '' FROM coordinator.objects WHERE relid = 'v'::regclass}),
	'the view records that its worker cannot start');
($ret, $out, $err) = $tight->psql('postgres',
	"SET statement_timeout = '30s'; SELECT n FROM v");
like($err, qr/maintained view "v" cannot start: no background worker slot is free/,
	'a read fails at once with the reason');
$tight->append_conf('postgresql.conf', "max_worker_processes = 8\n");
$tight->restart;
is($tight->safe_psql('postgres', 'SELECT n FROM v'), '5',
	'with more worker slots the view starts and is current');
$tight->stop;

done_testing();
