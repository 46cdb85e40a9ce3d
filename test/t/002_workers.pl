# Dataflow worker lifecycle: pg_terminate_backend, then kill -9 during
# writes; after each the view converges to its query with no row lost or
# duplicated.  Also SIGHUP, and DROP EXTENSION stopping the workers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;
use IPC::Run;

my $node = CoordinatorNode->new('workers', "restart_after_crash = on\n");

$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE t (id int, v int);
	ALTER TABLE t REPLICA IDENTITY FULL;
	CREATE MATERIALIZED VIEW even WITH (incremental) AS SELECT id, v FROM t WHERE v % 2 = 0;
});

# extra rows in the view, missing rows, rows in the view, rows in the query
sub convergence
{
	return $node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM (TABLE even EXCEPT ALL SELECT id, v FROM t WHERE v % 2 = 0) a)
		       || ' ' ||
		       (SELECT count(*) FROM (SELECT id, v FROM t WHERE v % 2 = 0 EXCEPT ALL TABLE even) b)
		       || ' ' || (SELECT count(*) FROM even) || ' ' ||
		       (SELECT count(*) FROM t WHERE v % 2 = 0)});
}

sub worker_pid
{
	$node->poll_query_until('postgres',
		'SELECT pid IS NOT NULL FROM coordinator.workers WHERE worker = 0')
	  or die 'no dataflow worker';
	return $node->safe_psql('postgres',
		'SELECT pid FROM coordinator.workers WHERE worker = 0');
}

$node->safe_psql('postgres', 'INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g');
is(convergence(), '0 0 500 500', 'the view follows its source');

# SIGHUP: the worker reloads its configuration and keeps running
my $pid = worker_pid();
$node->reload;
$node->safe_psql('postgres', 'INSERT INTO t VALUES (2000, 2000)');
is(convergence(), '0 0 501 501', 'the view follows its source after SIGHUP');
is(worker_pid(), $pid, 'SIGHUP does not restart the worker');

# pg_terminate_backend: the worker exits with an ERROR, no server restart,
# the coordinator relaunches it and the view catches up
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
$node->safe_psql('postgres', q{
	INSERT INTO t SELECT g, g FROM generate_series(3001, 3100) g;
	UPDATE t SET v = v + 1 WHERE id <= 100;
	DELETE FROM t WHERE id BETWEEN 500 AND 599;
});
$node->poll_query_until('postgres',
	"SELECT pid IS NOT NULL AND pid <> $pid FROM coordinator.workers WHERE worker = 0")
  or die 'worker not relaunched';
my ($extra, $missing, $in_view, $in_query) = split / /, convergence();
is("$extra $missing", '0 0', 'after pg_terminate_backend the view equals its query');
is($in_view, $in_query, 'and has as many rows');
ok($node->log_contains(qr/dataflow worker.*exited with exit code 1/, $log_offset),
	'the worker exited with an error');
ok(!$node->log_contains('terminating any other active server processes', $log_offset),
	'the server did not restart');

# kill -9 during writes: the whole server restarts; then the view converges
my $script = $node->basedir . '/dml.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set id random(1, 5000)
BEGIN;
INSERT INTO t VALUES (:id, :id);
UPDATE t SET v = v + 1 WHERE id = :id;
DELETE FROM t WHERE id = :id + 1;
COMMIT;
});
my ($bench_out, $bench_err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-T', '6', '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$bench_out, '2>', \$bench_err);
$node->poll_query_until('postgres', 'SELECT count(*) > 1200 FROM t')
  or die 'writes did not start';
$pid = worker_pid();
$log_offset = -s $node->logfile;
kill 'KILL', $pid;
$bench->finish;    # its clients lose their connections in the restart
$node->poll_query_until('postgres', 'SELECT true') or die 'server did not come back';
ok($node->log_contains('terminating any other active server processes', $log_offset),
	'kill -9 restarted the server');
worker_pid();
($extra, $missing, $in_view, $in_query) = split / /, convergence();
is("$extra $missing", '0 0', 'after kill -9 the view equals its query');
is($in_view, $in_query, 'and has as many rows');
cmp_ok($in_view, '>', 400, 'with the committed rows');

# DROP EXTENSION ... CASCADE stops the workers and drops their slots
$node->safe_psql('postgres', 'DROP EXTENSION coordinator CASCADE');
$node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity
	 WHERE backend_type = 'coordinator dataflow worker'})
  or die 'workers still running';
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), '0',
	'no slot is left behind');
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE MATERIALIZED VIEW even WITH (incremental) AS SELECT id, v FROM t WHERE v % 2 = 0;
});
($extra, $missing) = split / /, convergence();
is("$extra $missing", '0 0', 'after CREATE EXTENSION again, a new view works');

$node->stop;
done_testing();
