# A strict read of views on two dataflow workers reads them at one time.
#
# x and w are the same count of t, maintained by different workers.  w's
# worker is paused; a transaction inserts more rows than a worker applies
# in one tick (TICK_MAX_CHANGES, 50,000), and a reader's strict read of both
# views waits for w.  Meanwhile more rows are inserted, which x's worker
# applies at once.  When w's worker goes on, its first tick brings w past
# the reader's timestamp but not past the last insert, which the reader's
# snapshot already sees in x: the reader must wait for w to reach x's time
# too, and answer x = w.  The second part does the same with two views of
# one worker under writers and a checker: every read sees x = w.  The third
# reads x with a view of the other worker that recomputes all of t per
# change, under the same writers: that worker stays behind x's for as long
# as they write, and every read must still see one time.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('one_timestamp',
	"coordinator.dataflow_workers = 2\nmax_connections = 30\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE t (id int, g int);
	ALTER TABLE t REPLICA IDENTITY FULL;
	CREATE MATERIALIZED VIEW x WITH (incremental) AS SELECT count(*) AS n FROM t;
});
# Views go to worker relid % 2: create view $name of $query on x's worker
# ($same) or on the other, padding the OIDs with tables until it is.
my $pads = 0;
sub create_beside_x
{
	my ($name, $query, $same) = @_;
	my $op = $same ? '=' : '<>';
	for (1 .. 10)
	{
		$node->safe_psql('postgres',
			"CREATE MATERIALIZED VIEW $name WITH (incremental) AS $query");
		return if $node->safe_psql('postgres',
			"SELECT 'x'::regclass::oid::bigint % 2 $op '$name'::regclass::oid::bigint % 2") eq 't';
		$pads++;
		$node->safe_psql('postgres', "DROP MATERIALIZED VIEW $name; CREATE TABLE pad$pads ()");
	}
	die "could not place $name";
}
create_beside_x('w', 'SELECT count(*) AS n FROM t', 0);
$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM coordinator.objects WHERE state = 'running'")
  or die 'views not running';
my $w_worker = $node->safe_psql('postgres',
	"SELECT worker FROM coordinator.objects WHERE name = 'w'::regclass");
isnt($w_worker, $node->safe_psql('postgres',
	"SELECT worker FROM coordinator.objects WHERE name = 'x'::regclass"),
	'x and w are on different workers');

$node->safe_psql('postgres', "SELECT coordinator.debug_pause_workers(true, $w_worker)");
$node->safe_psql('postgres',
	'INSERT INTO t SELECT i, i % 10 FROM generate_series(1, 60000) i');

my ($out, $err) = ('', '');
my $reader = IPC::Run::start(
	[ 'psql', '-X', '-qAt', '-d', $node->connstr('postgres'), '-c',
	  "SET statement_timeout = '3min'; SELECT x.n || ' ' || w.n FROM x, w" ],
	'>', \$out, '2>', \$err);
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM coordinator.waits WHERE object = 'w'::regclass")
  or die 'the reader does not wait';

# 30,000 more rows: w's worker takes a while over them after its first tick
$node->safe_psql('postgres',
	'INSERT INTO t SELECT i, i % 10 FROM generate_series(60001, 90000) i');
# x's worker applies them (a strict read of x alone waits for that)
is($node->safe_psql('postgres', 'SELECT n FROM x'), '90000', 'x has the last rows');

$node->safe_psql('postgres', "SELECT coordinator.debug_pause_workers(false, $w_worker)");
$reader->finish;
chomp $out;
is($err, '', 'the reader had no error');
is($out, '90000 90000', 'the reader read x and w at one time: the last rows in both');

# One worker's views under writers: x is cheap, v recomputes a group of
# 6,000 rows per change (string_agg), so they commit in separate
# transactions of a tick; every strict read of both sees one time.
create_beside_x('v', q{SELECT sum(n) AS n FROM (SELECT g, count(*) AS n,
	length(string_agg(id::text, ',' ORDER BY id)) AS l FROM t GROUP BY g) s}, 1);
$node->poll_query_until('postgres',
	"SELECT state = 'running' FROM coordinator.objects WHERE name = 'v'::regclass")
  or die 'v not running';
is($node->safe_psql('postgres',
	"SELECT count(DISTINCT worker) FROM coordinator.objects WHERE name IN ('x'::regclass, 'v'::regclass)"),
	'1', 'x and v are on one worker');

my $script = $node->basedir . '/writer.sql';
PostgreSQL::Test::Utils::append_to_file($script,
	"INSERT INTO t VALUES (1, (random() * 9)::int);\n");
my $writers = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '600', '-R', '200', '-f', $script,
	  $node->connstr('postgres') ],
	'>', \my $wout, '2>', \my $werr);
my $reads = $ENV{COORDINATOR_ONE_TIMESTAMP_READS} // 400;

# $reads strict reads of x and $other: how many saw one time
sub check_reads
{
	my ($other, $reads) = @_;
	my $checker = "SELECT x.n = o.n AS same, x.n AS xn, o.n AS vn FROM x, $other o \\gset\n"
	  . "\\if :same\n\\echo SAME\n\\else\n\\echo DIFFERENT :xn :vn\n\\endif\n";
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-v', 'ON_ERROR_STOP=1' ],
		'<', \($checker x $reads), '>', \$out, '2>', \$err);
	my $same = () = $out =~ /^SAME$/mg;
	my @different = $out =~ /^(DIFFERENT.*)$/mg;
	diag("checker: $err") if $err ne '';
	is($same, $reads, "$reads strict reads of x and $other under two writers");
	is(scalar @different, 0, "every read saw x and $other at one time")
	  or diag(join("\n", @different[0 .. ($#different < 9 ? $#different : 9)]));
}
check_reads('v', $reads);

# The other worker, always behind x's while the writers write.
create_beside_x('slow', q{SELECT count(*) AS n,
	length(string_agg(id::text, ',' ORDER BY id)) AS l FROM t}, 0);
$node->poll_query_until('postgres',
	"SELECT state = 'running' FROM coordinator.objects WHERE name = 'slow'::regclass")
  or die 'slow not running';
isnt($node->safe_psql('postgres',
	"SELECT worker FROM coordinator.objects WHERE name = 'slow'::regclass"),
	$node->safe_psql('postgres',
	"SELECT worker FROM coordinator.objects WHERE name = 'x'::regclass"),
	'x and slow are on different workers');
check_reads('slow', $reads / 4);
$writers->kill_kill;
$writers->finish;

done_testing();
