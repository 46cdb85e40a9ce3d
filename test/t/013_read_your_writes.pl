# Strict serializable reads under concurrent writers, on two dataflow
# workers, and across faults.
#
# Two pgbench clients insert rows one per transaction without pause.  A
# checker, in one psql session, repeats: count the table, insert a row of
# its own, and read the maintained views right after the COMMIT returned.
# Every read must reflect its own write and every write committed before
# it (read-your-writes), in a count view, an aggregate view and a join
# view spread over both workers, and in views over them (two levels), which
# read their changes.  A second kind of round writes through
# another connection (dblink) and reads in this one: a read that starts
# after another session's COMMIT returned sees that commit.
#
# Then faults between a write and its read: kill -9 of a dataflow worker
# and of the coordinator (the server restarts every process), and an
# ERROR in a worker (only that worker restarts).  The read after each
# either waits or fails; it never answers without the write.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $rounds = $ENV{COORDINATOR_RYW_ROUNDS} // 900;

my $node = CoordinatorNode->new('read_your_writes',
	"coordinator.dataflow_workers = 2\nmax_connections = 50\nrestart_after_crash = on\n");

$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE EXTENSION dblink;
	CREATE TABLE t (id bigserial PRIMARY KEY, g int, amt int);
	ALTER TABLE t REPLICA IDENTITY FULL;
	CREATE TABLE dim (g int PRIMARY KEY, name text);
	ALTER TABLE dim REPLICA IDENTITY FULL;
	INSERT INTO dim SELECT i, 'g' || i FROM generate_series(0, 9) i;
});

# views go to worker relid % 2: a table created in between moves the next
# OID on, until the second view is on the other worker than the first
my @views = (
	[ vc => 'SELECT count(*) AS n FROM t' ],
	[ va => 'SELECT g, count(*) AS c, sum(amt) AS s FROM t GROUP BY g' ],
	[ vj => 'SELECT t.id, d.name FROM t JOIN dim d ON d.g = t.g' ],
	[ vc2 => 'SELECT count(*) AS n FROM t WHERE amt > 0' ],
	# views over views: each reads the changes of the one it names
	[ vsa => 'SELECT sum(c) AS n FROM va' ],
	[ vsj => 'SELECT count(*) AS n, max(id) AS last FROM vj' ],
	[ vss => 'SELECT n FROM vsa WHERE n > 0' ]);
for my $i (0 .. $#views)
{
	my ($name, $query) = @{ $views[$i] };
	for my $pad (1 .. 10)
	{
		$node->safe_psql('postgres',
			"CREATE MATERIALIZED VIEW $name WITH (incremental) AS $query");
		last if $i != 1 || $node->safe_psql('postgres',
			"SELECT 'vc'::regclass::oid::bigint % 2 <> 'va'::regclass::oid::bigint % 2") eq 't';
		$node->safe_psql('postgres',
			"DROP MATERIALIZED VIEW $name; CREATE TABLE pad$pad ()");
	}
}
$node->poll_query_until('postgres',
	"SELECT count(*) = 7 FROM coordinator.objects WHERE state = 'running'")
  or die 'views not running';
is($node->safe_psql('postgres',
	"SELECT count(DISTINCT worker) FROM coordinator.objects WHERE state = 'running'"),
	'2', 'the views are on both dataflow workers');

# One round of the checker: the count before, a write, the reads.  A stale
# read prints STALE with what it saw; a fresh one prints FRESH.
my $connstr = $node->connstr('postgres');
# the same without quotes, to pass to dblink inside a string literal
my $dblink_connstr = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
sub checker_script
{
	my ($n, $kind) = @_;
	my $sql = '';
	for my $i (1 .. $n)
	{
		my $write = $kind eq 'own'
		  ? "INSERT INTO t (g, amt) VALUES ($i % 10, 1) RETURNING id AS myid \\gset\n"
		  : "SELECT x.id AS myid FROM dblink('$dblink_connstr',
		       'INSERT INTO t (g, amt) VALUES ($i % 10, 1) RETURNING id') AS x(id bigint) \\gset\n";
		$sql .= "SELECT count(*) AS before FROM t \\gset\n" . $write . qq{
SELECT n < :before + 1 AS stale, n AS seen FROM vc \\gset
\\if :stale
\\echo STALE vc :seen :before
\\else
SELECT sum(c) < :before + 1 AS stale, sum(c) AS seen FROM va \\gset
\\if :stale
\\echo STALE va :seen :before
\\else
SELECT NOT EXISTS (SELECT 1 FROM vj WHERE id = :myid) AS stale \\gset
\\if :stale
\\echo STALE vj :myid
\\else
SELECT n < :before + 1 AS stale, n AS seen FROM vc2 \\gset
\\if :stale
\\echo STALE vc2 :seen :before
\\else
SELECT (SELECT n FROM vsa) < :before + 1 OR (SELECT n FROM vss) < :before + 1
       OR (SELECT n FROM vsj) < :before + 1 OR (SELECT last FROM vsj) < :myid AS stale \\gset
\\if :stale
\\echo STALE vsa/vss/vsj :before :myid
\\else
\\echo FRESH
\\endif
\\endif
\\endif
\\endif
\\endif
};
	}
	return $sql;
}

sub run_checker
{
	my ($n, $kind) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-q', '-d', $connstr, '-v', 'ON_ERROR_STOP=1' ],
		'<', \checker_script($n, $kind), '>', \$out, '2>', \$err);
	my $fresh = () = $out =~ /^FRESH$/mg;
	my @stale = $out =~ /^(STALE.*)$/mg;
	diag("checker: $err") if $err ne '';
	return ($fresh, \@stale);
}

# two writers, one row per transaction, for as long as the checker runs
# (at a bounded rate, so that on a small machine the checker gets its share)
my $script = $node->basedir . '/writer.sql';
PostgreSQL::Test::Utils::append_to_file($script,
	"INSERT INTO t (g, amt) VALUES ((random() * 9)::int, 1);\n");
my $writers = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '3600', '-R', '400', '-f', $script,
	  $node->connstr('postgres') ],
	'>', \my $wout, '2>', \my $werr);

my ($fresh, $stale) = run_checker($rounds, 'own');
is($fresh, $rounds, "$rounds rounds of read-your-writes under two writers completed");
is(scalar @$stale, 0, 'no read missed its own write or an earlier one')
  or diag(join("\n", @$stale[0 .. ($#$stale < 9 ? $#$stale : 9)]));

($fresh, $stale) = run_checker($rounds / 3, 'other');
is($fresh, int($rounds / 3), 'rounds of cross-session reads under two writers completed');
is(scalar @$stale, 0, "no read missed another session's committed write")
  or diag(join("\n", @$stale[0 .. ($#$stale < 9 ? $#$stale : 9)]));

$writers->kill_kill;
$writers->finish;

# Faults between a write and its read.  The read comes from a new
# connection (a crash restart ends every session); it may fail while the
# server restarts, then it must see the write.
sub pid_of
{
	my ($type) = @_;
	my $pid;
	$node->poll_query_until('postgres',
		"SELECT count(*) >= 1 FROM pg_stat_activity WHERE backend_type = '$type'")
	  or die "no $type";
	$pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = '$type' LIMIT 1");
	return $pid;
}

sub read_after
{
	my ($fault) = @_;
	my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
	my $id = $node->safe_psql('postgres',
		'INSERT INTO t (g, amt) VALUES (1, 1) RETURNING id');
	$fault->();
	# reads until one answers: each either fails (the server restarts) or
	# waits for the views; none may answer without the write
	my ($stale_reads, $answered) = (0, 0);
	for (1 .. 600)
	{
		my ($rc, $out, $err) = $node->psql('postgres', qq{
			SELECT (SELECT n FROM vc) >= $before + 1
			   AND (SELECT sum(c) FROM va) >= $before + 1
			   AND EXISTS (SELECT 1 FROM vj WHERE id = $id)
			   AND (SELECT n FROM vc2) >= $before + 1
			   AND (SELECT n FROM vsa) >= $before + 1
			   AND (SELECT n FROM vss) >= $before + 1
			   AND (SELECT last FROM vsj) >= $id});
		if ($rc == 0)
		{
			$answered = 1;
			$stale_reads++ if $out ne 't';
			last;
		}
		select(undef, undef, undef, 0.1);
	}
	return ($answered, $stale_reads);
}

my %faults = (
	'kill -9 of a dataflow worker' => sub {
		kill 'KILL', pid_of('coordinator dataflow worker');
	},
	'kill -9 of the coordinator' => sub {
		kill 'KILL', pid_of('coordinator');
	},
	'an ERROR in a dataflow worker' => sub {
		$node->safe_psql('postgres', q{
			SELECT coordinator.debug_inject_error(worker) FROM coordinator.workers;
			INSERT INTO t (g, amt) VALUES (2, 1)});
	});
my $fault_reads = 0;
for my $name (sort keys %faults)
{
	for my $try (1 .. 3)
	{
		my ($answered, $stale_reads) = read_after($faults{$name});
		ok($answered && $stale_reads == 0, "$name ($try): the read waited or failed, then saw the write");
		$fault_reads++;
	}
}

# and the views equal their queries
for my $v (@views)
{
	my ($name, $query) = @$v;
	is($node->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM (TABLE $name EXCEPT ALL ($query)) a)
		     + (SELECT count(*) FROM (($query) EXCEPT ALL TABLE $name) b)}),
		'0', "$name equals its query");
}

note("strict reads checked: " . (7 * ($rounds + int($rounds / 3))) .
	" under two writers, $fault_reads after faults");
done_testing();
