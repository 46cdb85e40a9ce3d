# Faults inside a dataflow worker: an ERROR injected in a maintenance step
# restarts that worker only, while the other worker's views keep serving;
# a worker whose slot falls more than max_slot_wal_keep_size behind is
# terminated by the checkpointer, the event shows in coordinator.workers,
# and the views converge again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('faults',
	"coordinator.dataflow_workers = 2\nmax_slot_wal_keep_size = 1MB\n");

$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE t (id int, v int);
	ALTER TABLE t REPLICA IDENTITY FULL;
	INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;
	CREATE TABLE filler (x text);
});

# views are assigned to workers by OID (relid % 2): create views, and a
# table between them to move the next OID on, until each worker has one
my %view_of;
for my $i (1 .. 10)
{
	$node->safe_psql('postgres', "CREATE TABLE pad$i ()");
	$node->safe_psql('postgres',
		"CREATE MATERIALIZED VIEW v$i WITH (incremental) AS SELECT v % 7 AS k, count(*) AS n, sum(v) AS s FROM t GROUP BY v % 7");
	$node->poll_query_until('postgres',
		"SELECT worker IS NOT NULL FROM coordinator.objects WHERE name = 'v$i'::regclass")
	  or die "v$i not assigned to a worker";
	my $worker = $node->safe_psql('postgres',
		"SELECT worker FROM coordinator.objects WHERE name = 'v$i'::regclass");
	$view_of{$worker} //= "v$i";
	last if defined $view_of{0} && defined $view_of{1};
}
my ($a, $b) = ($view_of{0}, $view_of{1});
ok(defined $a && defined $b, 'one view on each of the two workers');

sub converged
{
	my ($view) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM (TABLE $view EXCEPT ALL
		          SELECT v % 7, count(*), sum(v) FROM t GROUP BY v % 7) x)
		     + (SELECT count(*) FROM (SELECT v % 7, count(*), sum(v) FROM t GROUP BY v % 7
		          EXCEPT ALL TABLE $view) y)});
}

sub worker
{
	my ($i, $column) = @_;
	$node->poll_query_until('postgres',
		"SELECT pid IS NOT NULL AND state <> 'hydrating' FROM coordinator.workers WHERE worker = $i")
	  or die "worker $i not running";
	return $node->safe_psql('postgres', "SELECT $column FROM coordinator.workers WHERE worker = $i");
}

is(converged($a) . converged($b), '00', 'both views equal their query');

# an ERROR injected into worker 0's next apply step
my $pid0 = worker(0, 'pid');
my $pid1 = worker(1, 'pid');
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', 'SELECT coordinator.debug_inject_error(0)');
$node->safe_psql('postgres', 'UPDATE t SET v = v + 1 WHERE id <= 10');
$node->poll_query_until('postgres',
	"SELECT pid IS DISTINCT FROM $pid0 FROM coordinator.workers WHERE worker = 0")
  or die 'worker 0 did not exit';
# meanwhile worker 1 goes on: a write and a strict read of its view
$node->safe_psql('postgres', 'UPDATE t SET v = v + 1 WHERE id <= 20');
is(converged($b), '0', 'the other worker\'s view keeps serving');
is(worker(1, 'pid'), $pid1, 'the other worker did not restart');
isnt(worker(0, 'pid'), $pid0, 'the failed worker was started again');
like(worker(0, 'last_exit'), qr/^error: .*injected by coordinator.debug_inject_error/,
	'coordinator.workers says why it exited');
is(converged($a), '0', 'its view converges');
ok(!$node->log_contains('terminating any other active server processes', $log_offset),
	'the server did not restart');

# worker 0 held back while more WAL than max_slot_wal_keep_size is written:
# the checkpoint invalidates its slot, terminating it
$node->safe_psql('postgres', 'SELECT coordinator.debug_pause_workers(true, 0)');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (5000, 5000)');
for (1 .. 4)
{
	$node->safe_psql('postgres',
		"INSERT INTO filler SELECT repeat('x', 100) FROM generate_series(1, 1000); SELECT pg_switch_wal()");
}
$node->safe_psql('postgres', 'CHECKPOINT');
$node->poll_query_until('postgres',
	'SELECT slot_invalidations = 1 FROM coordinator.workers WHERE worker = 0')
  or die 'the slot was not invalidated';
like($node->safe_psql('postgres', 'SELECT last_exit FROM coordinator.workers WHERE worker = 0'),
	qr/^replication slot invalidated/, 'the invalidation shows in coordinator.workers');
ok($node->log_contains('to release replication slot'),
	'the checkpointer terminated the worker to release its slot');
$node->safe_psql('postgres', 'SELECT coordinator.debug_pause_workers(false, 0)');
is(converged($a), '0', 'after the invalidation the view converges, with the row written meanwhile');
# (with a limit this small, worker 1's slot may be invalidated too: a slot's
# restart position moves only at a running-transactions record)
is(converged($b), '0', 'the other view is current too');

$node->stop;
done_testing();
