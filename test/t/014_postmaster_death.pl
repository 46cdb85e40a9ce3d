# Nothing outlives the postmaster.  A dataflow worker waits for WAL that is
# not flushed yet when a record straddles the flush position: a large
# non-transactional logical message, whose complete pages the WAL writer
# flushes while its last page waits for the next commit.  Kill -9 the
# postmaster while the worker waits there, 20 times: every child process
# exits (each wait of ours ends on the postmaster's death), and the server
# starts again each time with its views.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;
use Processes;

my $tries = $ENV{COORDINATOR_PM_DEATH_TRIES} // 20;

my $node = CoordinatorNode->new('postmaster_death');
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE t (id int);
	ALTER TABLE t REPLICA IDENTITY FULL;
	CREATE MATERIALIZED VIEW v WITH (incremental) AS SELECT count(*) AS n FROM t;
});

my ($waited, $exited, $started) = (0, 0, 0);
for my $try (1 .. $tries)
{
	$node->safe_psql('postgres', "INSERT INTO t VALUES ($try)");
	is($node->safe_psql('postgres', 'SELECT n FROM v'), $try,
		"try $try: the view is maintained");

	# a record of many pages whose end is not flushed: its transaction
	# stays open, so only the WAL writer flushes, and only whole pages
	my ($in, $out, $err) = ('', '', '');
	my $holder = IPC::Run::start(
		[ 'psql', '-X', '-At', '-d', $node->connstr('postgres') ],
		'<', \$in, '>', \$out, '2>', \$err);
	$in .= "BEGIN;\n";
	# the worker decodes up to the flush position, inside the record, and
	# waits there for the rest; another process's commit may flush the
	# record whole first, then a new record is tried
	my $waiting = 0;
	for my $attempt (1 .. 10)
	{
		$in .= q{SELECT pg_logical_emit_message(false, 'straddle', repeat('x', 200000));
			SELECT 'end ' || pg_current_wal_insert_lsn();
};
		$holder->pump until $out =~ /^end (\S+)$/m;
		my $end = $1;
		$out = '';
		my $deadline = time + 10;
		while (!$waiting && time < $deadline)
		{
			$waiting = $node->safe_psql('postgres', qq{
				SELECT state = 'decoding' AND decoded < '$end'::pg_lsn
				   AND pg_current_wal_flush_lsn() < '$end'::pg_lsn
				  FROM coordinator.workers WHERE pid IS NOT NULL}) eq 't';
			usleep(100_000) if !$waiting;
		}
		last if $waiting;
	}
	$waited++ if $waiting;

	my $postmaster = (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];
	my @children = children_of($postmaster);
	$node->kill9;
	my $deadline = time + 30;
	usleep(50_000) while grep({ alive($_) } @children) && time < $deadline;
	my @left = grep { alive($_) } @children;
	$exited++ if !@left;
	if (@left)
	{
		diag("try $try: processes left: @left");
		kill 'KILL', @left;
	}
	usleep(50_000) while kill(0, $postmaster) && time < $deadline;
	$holder->kill_kill;
	$node->start(fail_ok => 1) and $started++;
}
is($waited, $tries, "in each of $tries tries the worker waited for WAL not flushed yet");
is($exited, $tries, 'every process of the killed postmaster exited each time');
is($started, $tries, 'and the server started again each time');
is($node->safe_psql('postgres', 'SELECT n FROM v'), $tries, 'the view is maintained after the last start');

done_testing();
