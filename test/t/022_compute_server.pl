# A compute server (docs/scale-out.md): a second server whose copies of
# the primary's tables are kept by a native subscription
# (scripts/compute_server.sh sets it up), with maintained views over them.
#
# Under two writers on the primary, a checker on the compute server
# repeats: count the table on the primary, insert a row there, take a
# token there (coordinator.timestamp_token()), set coordinator.read_after
# to it here and read three views: each must reflect the row and every
# earlier commit (read-your-writes across servers).  Then the views equal
# their queries, the copies equal the primary's tables, and a read after a
# token fails at once while the subscription is disabled.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;
use ComputeServer;

my $rounds = $ENV{COORDINATOR_COMPUTE_ROUNDS} // 400;

my $primary = primary_node('primary');
my $compute = CoordinatorNode->new('compute', "max_connections = 40\n");

$primary->safe_psql('postgres', q{
	CREATE TABLE t (id bigserial PRIMARY KEY, g int, amt int);
	CREATE TABLE dim (g int PRIMARY KEY, name text);
	INSERT INTO dim SELECT i, 'g' || i FROM generate_series(0, 9) i;
	INSERT INTO t (g, amt) SELECT i % 10, 1 FROM generate_series(1, 1000) i;
});
my ($rc, $out, $err) = (0, '', '');
compute_server($primary, $compute, 'compute_a', 't', 'dim');
$compute->safe_psql('postgres', q{
	CREATE MATERIALIZED VIEW vc WITH (incremental) AS SELECT count(*) AS n FROM t;
	CREATE MATERIALIZED VIEW va WITH (incremental) AS SELECT g, count(*) AS c, sum(amt) AS s FROM t GROUP BY g;
	CREATE MATERIALIZED VIEW vj WITH (incremental) AS SELECT t.id, d.name FROM t JOIN dim d ON d.g = t.g;
});
$compute->poll_query_until('postgres',
	"SELECT count(*) = 3 FROM coordinator.objects WHERE state = 'running'")
  or die 'views not running';

# two writers on the primary
my $script = $primary->basedir . '/writer.sql';
PostgreSQL::Test::Utils::append_to_file($script,
	"INSERT INTO t (g, amt) VALUES ((random() * 9)::int, 1);\n");
my $writers = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '900', '-R', '200', '-f', $script,
	  $primary->connstr('postgres') ],
	'>', \my $wout, '2>', \my $werr);

my $p = plain_connstr($primary);
my $checker = "SELECT dblink_connect('p', '$p');\n";
for my $i (1 .. $rounds)
{
	$checker .= qq{SELECT n AS before FROM dblink('p', 'SELECT count(*) FROM t') AS x(n bigint) \\gset
SELECT id AS myid FROM dblink('p', 'INSERT INTO t (g, amt) VALUES ($i % 10, 1) RETURNING id') AS x(id bigint) \\gset
SELECT tok FROM dblink('p', 'SELECT coordinator.timestamp_token()') AS x(tok pg_lsn) \\gset
SET coordinator.read_after = :'tok';
SELECT (SELECT n FROM vc) < :before + 1
    OR (SELECT sum(c) FROM va) < :before + 1
    OR NOT EXISTS (SELECT 1 FROM vj WHERE id = :myid) AS stale \\gset
\\if :stale
\\echo STALE :before :myid
\\else
\\echo FRESH
\\endif
};
}
my $checker_file = $compute->basedir . '/checker.sql';
PostgreSQL::Test::Utils::append_to_file($checker_file, $checker);
($out, $err) = ('', '');
IPC::Run::run([ 'psql', '-X', '-q', '-d', $compute->connstr('postgres'), '-v', 'ON_ERROR_STOP=1',
	'-f', $checker_file ], '>', \$out, '2>', \$err);
$writers->kill_kill;
$writers->finish;
my $fresh = () = $out =~ /^FRESH$/mg;
my @stale = $out =~ /^(STALE.*)$/mg;
diag("checker: $err") if $err ne '';
is($fresh, $rounds, "$rounds rounds of read-your-writes across servers under two writers ("
	. 3 * $rounds . ' view reads)');
is(scalar @stale, 0, 'no read on the compute server missed a commit acknowledged by the primary')
  or diag(join("\n", @stale[0 .. ($#stale < 9 ? $#stale : 9)]));

# after the writers: the copies and the views
my $token = $primary->safe_psql('postgres', 'SELECT coordinator.timestamp_token()');
is($compute->safe_psql('postgres', qq{
	SET coordinator.read_after = '$token';
	SELECT n FROM vc}),
	$primary->safe_psql('postgres', 'SELECT count(*) FROM t'),
	'the count view equals the primary\'s count');
for my $v ([ va => 'SELECT g, count(*) AS c, sum(amt) AS s FROM t GROUP BY g' ],
	[ vj => 'SELECT t.id, d.name FROM t JOIN dim d ON d.g = t.g' ])
{
	my ($name, $query) = @$v;
	is($compute->safe_psql('postgres', qq{
		SET coordinator.read_after = '$token';
		SELECT (SELECT count(*) FROM (TABLE $name EXCEPT ALL ($query)) a)
		     + (SELECT count(*) FROM (($query) EXCEPT ALL TABLE $name) b)}),
		'0', "$name equals its query on the compute server");
}

# EXPLAIN TIMESTAMP shows the token and how far the subscription applied
like($compute->safe_psql('postgres', qq{
	SET coordinator.read_after = '$token';
	SELECT coordinator.explain_timestamp('SELECT * FROM vc')}),
	qr/primary timestamp \(token\): \Q$token\E\n\s+applied by subscription compute_a: [0-9A-F]+\/[0-9A-F]+/,
	'EXPLAIN TIMESTAMP shows the primary\'s token and the subscription\'s position');
is($compute->safe_psql('postgres', qq{
	SET coordinator.read_after = '$token';
	SELECT coordinator.explain_timestamp_json('SELECT * FROM vc') -> 'primary' ->> 'token'}),
	$token, 'and so does its JSON form');

# a disabled subscription: the read fails instead of waiting
$compute->safe_psql('postgres', 'ALTER SUBSCRIPTION compute_a DISABLE');
$primary->safe_psql('postgres', 'INSERT INTO t (g, amt) VALUES (1, 1)');
$token = $primary->safe_psql('postgres', 'SELECT coordinator.timestamp_token()');
($rc, $out, $err) = $compute->psql('postgres', qq{
	SET statement_timeout = '60s';
	SET coordinator.read_after = '$token';
	SELECT n FROM vc});
like($err, qr/subscription "compute_a" is disabled/, 'a read after a token fails while the subscription is disabled');
$compute->safe_psql('postgres', 'ALTER SUBSCRIPTION compute_a ENABLE');
is($compute->safe_psql('postgres', qq{
	SET coordinator.read_after = '$token';
	SELECT n FROM vc}),
	$primary->safe_psql('postgres', 'SELECT count(*) FROM t'),
	'enabled again, it catches up and the read reflects the token');

done_testing();
