# A streaming standby of a primary with maintained views, then its promotion.
#
# On the standby the coordinator's processes do not run (the launcher starts
# when recovery ends); the views are what the primary's workers wrote, and
# reading them answers at once.  Reads that can only be answered by a
# dataflow must end at once too (an answer or an error), not wait for a
# worker that a standby never has: every statement on the standby runs
# under statement_timeout so that a wait cannot hang the test.  Once
# promoted, the node maintains its views: rows inserted there appear, and
# each view equals its query.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;
use LifecycleViews;

my $primary = CoordinatorNode->new('primary', "max_wal_senders = 5\n");

LifecycleViews::create($primary, 0, 1000);

sub check_views { LifecycleViews::check_views(@_); }
sub wait_running { LifecycleViews::wait_running(@_); }

sub dml
{
	my ($node, $base) = @_;
	$node->safe_psql('postgres', qq{
		INSERT INTO t SELECT $base + i, i % 10, i % 7 FROM generate_series(1, 200) i;
		UPDATE t SET amount = -amount WHERE id % 13 = 0;
		UPDATE t SET grp = (grp + 1) % 10 WHERE id % 17 = 0;
		DELETE FROM t WHERE id % 19 = 0;
		UPDATE g SET name = name || '+' WHERE grp = 3;
	});
}

my $coordinator_processes = q{
	SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'coordinator%'};

wait_running($primary);
check_views($primary, 'primary');

# the standby, from a base backup, streaming
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't',
	'the standby is in recovery');

# writes on the primary; once its views are current (a strict read waits for
# that) and the standby has replayed their writes, the standby's views are
# the primary's
dml($primary, 10000);
dml($primary, 20000);
check_views($primary, 'primary after writes');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'),
	$primary->safe_psql('postgres', 'SELECT count(*) FROM t'),
	'the standby replayed the writes');
is($standby->safe_psql('postgres', $coordinator_processes), '0',
	'no coordinator process runs on the standby');

# reads on the standby answer at once, with the views as the primary wrote
# them (equal to their queries, since the primary's views were current)
check_views($standby, 'standby');
is( $standby->safe_psql('postgres', q{
		SET statement_timeout = '10s';
		BEGIN ISOLATION LEVEL REPEATABLE READ;
		SELECT sum(n) FROM by_grp;
		COMMIT;}),
	$standby->safe_psql('postgres', 'SELECT count(*) FROM t'),
	'standby: a REPEATABLE READ read answers, with the replayed contents');

# the standby's server log: no crash, no error
my $log = slurp_file($standby->logfile);
ok($log !~ /terminating any other active server processes|PANIC|server process .* was terminated/,
	'the standby did not crash');
my @errors = grep { /ERROR|FATAL|WARNING/ && !/walreceiver|primary server|WAL stream/ }
  split /\n/, $log;
is(join("\n", @errors), '', 'the standby logged no error or warning');
my $log_offset = -s $standby->logfile;

# Reads that need a dataflow: they must end at once, with an answer or an
# error, not wait (statement_timeout ends a wait with 57014).
for my $probe (
	[ 'AS OF read', q{SELECT count(*) FROM coordinator.as_of(NULL::by_grp, now() - interval '1 second')} ],
	[ 'REFRESH', 'REFRESH MATERIALIZED VIEW by_grp' ],
	[ 'subscribe_open', q{SELECT coordinator.subscribe_open('by_grp')} ])
{
	my ($what, $sql) = @$probe;
	my ($ret, $out, $err) = $standby->psql('postgres',
		"SET statement_timeout = '5s'; $sql");
	note "standby: $what: exit $ret, output '$out', error '$err'";
	unlike($err, qr/statement timeout/, "standby: $what does not wait for a dataflow");
	like($err, qr/recovery is in progress/, "standby: $what is refused during recovery");
	unlike($err, qr/served in database "postgres" only/,
		"standby: $what does not blame the database it is in");
}

# promotion: the coordinator starts and maintains the views
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'promotion did not finish';
wait_running($standby);
ok($standby->safe_psql('postgres', $coordinator_processes) >= 3,
	'after promotion the launcher, the coordinator and a dataflow worker run');
check_views($standby, 'promoted');
dml($standby, 30000);
$standby->safe_psql('postgres', 'INSERT INTO t VALUES (40001, 4, 40)');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM pos WHERE id = 40001'), '1',
	'promoted: a row inserted on the promoted node is in its view at once');
check_views($standby, 'promoted, after writes');
ok(!$standby->log_contains(
		'terminating any other active server processes|PANIC', $log_offset),
	'the promoted node did not crash');

# the primary went on meanwhile
dml($primary, 50000);
check_views($primary, 'primary at the end');

$standby->stop;
$primary->stop;
done_testing();
