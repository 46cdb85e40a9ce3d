# No free replication slot: a maintained view's worker cannot start.  Reads
# of the view fail at once with the reason (no hang); once a slot is free
# the worker starts on its own and the view is correct.
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
done_testing();
