# Process lifecycle under a write load.
#
# Three maintained views (a filter with a projection, a GROUP BY aggregate,
# a join) over a table that two pgbench clients change while a writer
# inserts rows with sequential ids, each in its own transaction, and
# records the ids whose commit was acknowledged.  Then:
#
#   - kill -9 of the coordinator (the server restarts), kill -9 of the
#     postmaster (the node is started again);
#   - fast and immediate shutdown, then start;
#   - pg_terminate_backend of the coordinator and of the launcher: no server
#     restart, the process comes back, and afterwards there is exactly one
#     launcher, one coordinator and one process per dataflow worker index.
#
# After each, every view equals its query (EXCEPT ALL both ways, as many
# rows) and every acknowledged write is in the table and in the views.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;
use Processes;
use LifecycleViews;
use IPC::Run;

my $nworkers = 2;
my $node = CoordinatorNode->new('lifecycle',
	"restart_after_crash = on\ncoordinator.dataflow_workers = $nworkers\n");

# Writer rows: id >= 1, amount >= 0, grp in 0..9 (so each is in every view).
# pgbench rows: ids from 900000001, amounts of either sign, groups moving.
LifecycleViews::create($node, 900000000, 2000);

sub wait_running { LifecycleViews::wait_running($node); }

sub check_views
{
	my ($what) = @_;
	wait_running();
	LifecycleViews::check_views($node, $what);
}

# pgbench: single-row statements in their own transactions (no deadlocks):
# upserts, group moves, deletes, over its own range of ids.
my $script = $node->basedir . '/load.sql';
append_to_file($script, q{
\set id random(900000001, 900002000)
\set g random(0, 9)
\set a random(-50, 50)
INSERT INTO t VALUES (:id, :g, :a) ON CONFLICT (id) DO UPDATE SET grp = excluded.grp, amount = t.amount + excluded.amount;
UPDATE t SET grp = :g WHERE id = :id + 7;
DELETE FROM t WHERE id = :id + 13;
});

# Start the load: pgbench with 2 clients, and the writer inserting ids
# $first, $first + 1, ... each in its own transaction with RETURNING, so an
# id is printed only once its commit was acknowledged (synchronous_commit is
# on).  Returns once both have written.
my $phase = 0;
sub start_load
{
	$phase++;
	my $first = $phase * 100000 + 1;
	my $file = $node->basedir . "/writer$phase.sql";
	open my $fh, '>', $file or die $!;
	print $fh "INSERT INTO t VALUES ($_, $_ % 10, $_ % 1000) RETURNING id;\n"
	  for $first .. $first + 49999;
	close $fh;

	my %load = (first => $first, out => $node->basedir . "/writer$phase.out");
	local $ENV{PGAPPNAME} = 'load_pgbench';
	$load{bench} = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-T', '60', '-f', $script,
		  '-h', $node->host, '-p', $node->port, 'postgres' ],
		'>', \$load{bench_out}, '2>', \$load{bench_err});
	$load{writer} = IPC::Run::start(
		[ 'psql', '-X', '-Atq', '-v', 'ON_ERROR_STOP=1', '-f', $file,
		  '-d', $node->connstr('postgres') . ' application_name=acked_writer' ],
		'>', $load{out}, '2>', \$load{writer_err});
	# (the writer only inserts: updates and deletes of t are pgbench's)
	my $bench_query = q{
		SELECT n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relid = 't'::regclass};
	my $bench_before = $node->safe_psql('postgres', $bench_query);
	$node->poll_query_until('postgres',
		"SELECT count(*) >= 400 FROM t WHERE id >= $first AND id < 900000000")
	  or die 'the writer did not start';
	$node->poll_query_until('postgres', "SELECT ($bench_query) > $bench_before + 300")
	  or die 'pgbench did not start';
	return \%load;
}

# Wait for the load to end (the kill or shutdown ended its connections, or
# the caller ended them), check that both were still writing then (they did
# not end on their own), and return the last id acknowledged to the writer.
sub finish_load
{
	my ($load, $what) = @_;
	$load->{bench}->finish;
	$load->{writer}->finish;
	like($load->{bench_err}, qr/Run was aborted/,
		"$what: pgbench was writing until its connections ended");
	like($load->{writer_err}, qr/terminating connection|server closed the connection|connection to server was lost/,
		"$what: the writer was writing until its connection ended");
	note "pgbench: $load->{bench_err}";
	my @acked = split /\n/, slurp_file($load->{out});
	note "writer: "
	  . scalar(@acked)
	  . " commits acknowledged; $load->{writer_err}";
	# ids come back in order, one per acknowledged commit
	for my $i (0 .. $#acked)
	{
		die "unexpected writer output $acked[$i]"
		  unless $acked[$i] == $load->{first} + $i;
	}
	return @acked ? $acked[-1] : $load->{first} - 1;
}

# Ids first..acked missing from the table and from the views that hold
# every writer row (by_grp counts them: check_views compares it).
sub check_acked
{
	my ($what, $load, $acked) = @_;
	cmp_ok($acked - $load->{first} + 1, '>=', 300,
		"$what: the writer had at least 300 commits acknowledged");
	wait_running();
	is( $node->safe_psql('postgres', qq{
			SELECT (SELECT count(*) FROM generate_series($load->{first}, $acked) i
			         WHERE NOT EXISTS (SELECT FROM t WHERE id = i)) || ' ' ||
			       (SELECT count(*) FROM generate_series($load->{first}, $acked) i
			         WHERE NOT EXISTS (SELECT FROM pos WHERE id = i)) || ' ' ||
			       (SELECT count(*) FROM generate_series($load->{first}, $acked) i
			         WHERE NOT EXISTS (SELECT FROM named WHERE id = i))}),
		'0 0 0',
		"$what: every acknowledged write is in the table, in pos and in named");
}

sub pid_of
{
	my ($type) = @_;
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = '$type'");
}

check_views('at start');

# 1a. kill -9 of the coordinator during load: the server restarts
my $load = start_load();
my $log_offset = -s $node->logfile;
my $coordinator = pid_of('coordinator');
ok($coordinator =~ /^\d+$/, 'one coordinator process');
kill 'KILL', $coordinator;
my $acked = finish_load($load, 'kill -9 coordinator');
$node->poll_query_until('postgres', 'SELECT true') or die 'server did not come back';
ok($node->log_contains('terminating any other active server processes', $log_offset),
	'kill -9 of the coordinator restarted the server');
check_acked('kill -9 coordinator', $load, $acked);
check_views('kill -9 coordinator');

# 1b. kill -9 of the postmaster during load: its children exit (they watch
# for the postmaster's death), then the node starts with crash recovery
$load = start_load();
my $postmaster = (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];
my @children = children_of($postmaster);
ok(scalar(grep { $_ } map { kill 0, $_ } @children) >= 5,
	'the postmaster has its children: ' . scalar(@children));
$node->kill9;
$acked = finish_load($load, 'kill -9 postmaster');
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
usleep(100_000) while grep({ alive($_) } @children) && time < $deadline;
is(join(',', grep { alive($_) } @children), '',
	'every process of the killed postmaster exited');
# a new postmaster refuses to start while the old PID exists, even as a
# zombie: wait until whoever inherited it has reaped it
usleep(100_000) while kill(0, $postmaster) && time < $deadline;
$log_offset = -s $node->logfile;
$node->start;
ok($node->log_contains('database system was interrupted|was not properly shut down', $log_offset),
	'the node started with crash recovery');
check_acked('kill -9 postmaster', $load, $acked);
check_views('kill -9 postmaster');

# 2. fast and immediate shutdown during load, then start
for my $mode ('fast', 'immediate')
{
	$load = start_load();
	$node->stop($mode);
	$acked = finish_load($load, "$mode shutdown");
	$node->start;
	check_acked("$mode shutdown", $load, $acked);
	check_views("$mode shutdown");
}

# 3. pg_terminate_backend of the coordinator, then of the launcher, during
# load: no server restart, the process comes back, the views converge,
# and there is exactly one launcher, one coordinator and one dataflow worker
# per index, and those are the workers coordinator.workers shows.

# "launcher coordinator workers-in-pg_stat_activity workers-in-coordinator.workers"
my $processes_query = qq{
	SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'coordinator launcher')
	       || ' ' ||
	       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'coordinator')
	       || ' ' ||
	       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'coordinator dataflow worker')
	       || ' ' ||
	       (SELECT count(DISTINCT w.pid) FROM coordinator.workers w
	          JOIN pg_stat_activity a ON a.pid = w.pid
	         WHERE a.backend_type = 'coordinator dataflow worker')};
my $one_each = "1 1 $nworkers $nworkers";
my $launches_query = q{
	SELECT string_agg(worker || ':' || launches, ',' ORDER BY worker) FROM coordinator.workers};

# the index in each dataflow worker's process title
sub worker_indexes
{
	my @pids = split /\n/, $node->safe_psql('postgres', q{
		SELECT pid FROM pg_stat_activity WHERE backend_type = 'coordinator dataflow worker'});
	my @idx;
	for my $pid (@pids)
	{
		my $title = slurp_file("/proc/$pid/cmdline");
		push @idx, $title =~ /dataflow worker (\d+)/ ? $1 : "?($pid)";
	}
	return join ',', sort @idx;
}

# on failure: the processes, and what the server logged about them
sub diag_processes
{
	my ($offset) = @_;
	diag $node->safe_psql('postgres', q{
		SELECT backend_type, pid, backend_start, wait_event_type, wait_event, query
		  FROM pg_stat_activity
		 WHERE backend_type LIKE 'coordinator%' ORDER BY backend_start});
	diag 'dataflow worker indexes in the process titles: ' . worker_indexes();
	diag $node->safe_psql('postgres',
		'SELECT worker, pid, state, launches FROM coordinator.workers');
	my @lines = grep { /ERROR|FATAL|exited with/ && !/load_pgbench|acked_writer/ }
	  split /\n/, slurp_file($node->logfile, $offset);
	diag join("\n", @lines[0 .. ($#lines < 11 ? $#lines : 11)]);
}

for my $type ('coordinator', 'coordinator launcher')
{
	my $what = "pg_terminate_backend($type)";
	$load = start_load();
	$log_offset = -s $node->logfile;
	my $old = pid_of($type);
	ok($node->safe_psql('postgres', "SELECT pg_terminate_backend($old)") eq 't',
		"$what: signalled");
	$node->poll_query_until('postgres', qq{
		SELECT count(*) >= 1 FROM pg_stat_activity
		 WHERE backend_type = '$type' AND pid <> $old})
	  or die "$type did not come back";
	ok(!alive($old), "$what: the old process is gone");

	# the load goes on: 500 more acknowledged commits
	my $written = $node->safe_psql('postgres',
		"SELECT count(*) FROM t WHERE id >= $load->{first} AND id < 900000000");
	$node->poll_query_until('postgres', qq{
		SELECT count(*) >= $written + 500 FROM t
		 WHERE id >= $load->{first} AND id < 900000000})
	  or die 'the writer stopped';

	# The processes settle within a few seconds (the relaunch delays are
	# about a second); bound the wait (10 s, at most about 20 with the
	# queries' own time) so that a build that leaves duplicates fails in
	# reasonable time.  The load goes on meanwhile.
	my $settled;
	{
		local $PostgreSQL::Test::Utils::timeout_default = 10;
		$settled = $node->poll_query_until('postgres', $processes_query, $one_each);
	}
	ok($settled, "$what: one launcher, one coordinator, one process per dataflow worker")
	  or diag_processes($log_offset);
	# stop the load by ending its sessions (psql then exits and writes out
	# what was acknowledged)
	$node->safe_psql('postgres', q{
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		 WHERE application_name IN ('load_pgbench', 'acked_writer')});
	$acked = finish_load($load, $what);
	ok(!$node->log_contains('terminating any other active server processes', $log_offset),
		"$what: the server did not restart");
	check_acked($what, $load, $acked);
	check_views($what);

	# still so after the views converged, and no worker is being relaunched
	my $launches = $node->safe_psql('postgres', $launches_query);
	$node->safe_psql('postgres', "INSERT INTO t VALUES ($load->{first} + 99999, 9, 99)");
	check_views("$what, one more write");
	is($node->safe_psql('postgres', $processes_query), $one_each,
		"$what: still one process each");
	is(worker_indexes(), join(',', 0 .. $nworkers - 1),
		"$what: the dataflow workers' process titles name each index once");
	is($node->safe_psql('postgres', $launches_query), $launches,
		"$what: no dataflow worker was launched again meanwhile");
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM coordinator.workers w
		 WHERE w.pid IS NULL
		    OR NOT EXISTS (SELECT FROM pg_stat_activity a
		                    WHERE a.pid = w.pid AND a.backend_type = 'coordinator dataflow worker')}),
		'0', "$what: coordinator.workers shows a live process for each worker");
}

$node->stop;
done_testing();
