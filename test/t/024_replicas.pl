# Two replicas: a primary and two compute servers with the same views
# (docs/scale-out.md).  Under random writes on the primary, a checker on
# each compute server writes rows of its own on the primary, takes a token
# there and reads its views: every read reflects its own rows exactly.
# kill -9 of one compute server under load: the other keeps answering
# while it is down; the killed one starts again, catches up from its
# subscription and answers fresh.  ALTER TABLE ... ADD COLUMN on the primary: the
# subscriptions stop on the new column (disabled), reads after a token
# fail with the subscription named; the same ALTER on a compute server and
# ENABLE bring it back, its views equal to their queries.
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
use ComputeServer;

my $rounds = $ENV{COORDINATOR_REPLICA_ROUNDS} // 250;

my $primary = primary_node('primary');
my %compute = (a => CoordinatorNode->new('compute_a', "max_connections = 40\n"),
	b => CoordinatorNode->new('compute_b', "max_connections = 40\n"));

# writers touch groups 0 to 9; the checkers write groups 100 (a) and 101 (b)
$primary->safe_psql('postgres', q{
	CREATE TABLE t (id bigserial PRIMARY KEY, g int, amt int);
	CREATE TABLE dim (g int PRIMARY KEY, name text);
	INSERT INTO dim SELECT i, 'g' || i FROM generate_series(0, 9) i;
	INSERT INTO dim VALUES (100, 'a'), (101, 'b');
	INSERT INTO t (g, amt) SELECT i % 10, 1 FROM generate_series(1, 2000) i;
});
my @views = (
	[ va => 'SELECT g, count(*) AS c, sum(amt) AS s FROM t GROUP BY g' ],
	[ vj => 'SELECT t.id, d.name FROM t JOIN dim d ON d.g = t.g' ]);
for my $name (sort keys %compute)
{
	my $node = $compute{$name};
	compute_server($primary, $node, "compute_$name", 't', 'dim');
	$node->safe_psql('postgres', "CREATE MATERIALIZED VIEW $_->[0] WITH (incremental) AS $_->[1]")
	  for @views;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 2 FROM coordinator.objects WHERE state = 'running'")
	  or die "views of $name not running";
}

# random writes on the primary: inserts, updates and deletes in groups 0-9
my $script = $primary->basedir . '/writer.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{\set id random(1, 4000)
INSERT INTO t (g, amt) VALUES (:id % 10, 1);
UPDATE t SET amt = amt + 1, g = (g + 1) % 10 WHERE id = :id AND g < 10;
DELETE FROM t WHERE id = :id + 1 AND g < 10;
});
my $writers = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '900', '-R', '100', '-f', $script,
	  $primary->connstr('postgres') ],
	'>', \my $wout, '2>', \my $werr);

# A checker on compute server $name: $n rounds of a row of its group
# written on the primary, a token, and reads that must show every row of
# the group so far (nothing else writes the group).
my $p = plain_connstr($primary);
my %group = (a => 100, b => 101);
sub checker
{
	my ($name, $n) = @_;
	my $g = $group{$name};
	my $sql = "SELECT dblink_connect('p', '$p');\n";
	for (1 .. $n)
	{
		$sql .= qq{SELECT id AS myid FROM dblink('p', 'INSERT INTO t (g, amt) VALUES ($g, 1) RETURNING id') AS x(id bigint) \\gset
SELECT c AS mine FROM dblink('p', 'SELECT count(*) FROM t WHERE g = $g') AS x(c bigint) \\gset
SELECT tok FROM dblink('p', 'SELECT coordinator.timestamp_token()') AS x(tok pg_lsn) \\gset
SET coordinator.read_after = :'tok';
SELECT coalesce((SELECT c FROM va WHERE g = $g), 0) <> :mine
    OR NOT EXISTS (SELECT 1 FROM vj WHERE id = :myid) AS stale \\gset
\\if :stale
\\echo STALE :myid :mine
\\else
\\echo FRESH
\\endif
};
	}
	my $file = $compute{$name}->basedir . "/checker_$n.sql";
	unlink $file;
	PostgreSQL::Test::Utils::append_to_file($file, $sql);
	return [ 'psql', '-X', '-q', '-d', $compute{$name}->connstr('postgres'),
		'-v', 'ON_ERROR_STOP=1', '-f', $file ];
}
sub tally
{
	my ($name, $out, $err, $n) = @_;
	my $fresh = () = $out =~ /^FRESH$/mg;
	my @stale = $out =~ /^(STALE.*)$/mg;
	diag("checker $name: $err") if $err ne '';
	is($fresh, $n, "compute server $name: $n rounds of reads after the primary's token");
	is(scalar @stale, 0, "compute server $name: no read missed a row acknowledged by the primary")
	  or diag(join("\n", @stale[0 .. ($#stale < 9 ? $#stale : 9)]));
}

# both replicas at once
my %run;
for my $name ('a', 'b')
{
	$run{$name} = { out => '', err => '' };
	$run{$name}{h} = IPC::Run::start(checker($name, $rounds),
		'>', \$run{$name}{out}, '2>', \$run{$name}{err});
}
$run{$_}{h}->finish for ('a', 'b');
tally($_, $run{$_}{out}, $run{$_}{err}, $rounds) for ('a', 'b');

# kill -9 of b under the writers: a goes on answering while b is down
my $postmaster = (split /\n/, slurp_file($compute{b}->data_dir . '/postmaster.pid'))[0];
my @children = children_of($postmaster);
$compute{b}->kill9;
my ($aout, $aerr) = ('', '');
IPC::Run::run(checker('a', $rounds), '>', \$aout, '2>', \$aerr);
tally('a', $aout, $aerr, $rounds);
# b's processes follow its postmaster out before it can start again
my $deadline = time + 60;
usleep(50_000) while (kill(0, $postmaster) || grep({ alive($_) } @children)) && time < $deadline;
ok($compute{b}->start(fail_ok => 1), 'the killed compute server started again');
my ($bout, $berr) = ('', '');
IPC::Run::run(checker('b', 100), '>', \$bout, '2>', \$berr);
tally('b', $bout, $berr, 100);

$writers->kill_kill;
$writers->finish;

# after the writes, each replica equals the primary
my $token = $primary->safe_psql('postgres', 'SELECT coordinator.timestamp_token()');
for my $name ('a', 'b')
{
	for my $v (@views)
	{
		my ($view, $query) = @$v;
		my $expected = $primary->safe_psql('postgres',
			"SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM ($query) x");
		is($compute{$name}->safe_psql('postgres', qq{
			SET coordinator.read_after = '$token';
			SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $view x}),
			$expected, "compute server $name: $view equals the primary's query");
	}
}

# ALTER TABLE ... ADD COLUMN on the primary, and a row that uses it
$primary->safe_psql('postgres', q{
	ALTER TABLE t ADD COLUMN note text;
	INSERT INTO t (g, amt, note) VALUES (1, 1, 'new');
});
$token = $primary->safe_psql('postgres', 'SELECT coordinator.timestamp_token()');
my ($rc, $out, $err) = $compute{a}->psql('postgres', qq{
	SET statement_timeout = '120s';
	SET coordinator.read_after = '$token';
	SELECT count(*) FROM vj});
like($err, qr/subscription "compute_a" is disabled/,
	'after ADD COLUMN on the primary, a read after a token names the stopped subscription');
$compute{a}->safe_psql('postgres', q{
	ALTER TABLE t ADD COLUMN note text;
	ALTER SUBSCRIPTION compute_a ENABLE;
});
for my $v (@views)
{
	my ($view, $query) = @$v;
	my $expected = $primary->safe_psql('postgres',
		"SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM ($query) x");
	is($compute{a}->safe_psql('postgres', qq{
		SET coordinator.read_after = '$token';
		SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $view x}),
		$expected, "with the column added and the subscription enabled, $view equals the primary's query");
}

done_testing();
