# WITH RECURSIVE under concurrent writers: three pgbench clients add,
# remove and move edges of a graph with cycles (several changes per
# transaction, one in five rolled back) while a checker compares each
# recursive view with its query.  The checker holds the writers off while it
# reads (a write committed after its read's timestamp and before its
# snapshot would be in the query and not yet in the views), so every
# comparison must be exact; the writers' changes between two checks reach
# the worker together, several transactions in one tick.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('recursive_writers', "max_connections = 30\n");
my %query = (
	closure => q{WITH RECURSIVE c(s, d) AS (SELECT src, dst FROM edges UNION SELECT c.s, e.dst FROM c JOIN edges e ON e.src = c.d) SELECT s, d FROM c},
	walks => q{WITH RECURSIVE p(n, depth) AS (SELECT id, 0 FROM nodes WHERE kind = 'root' UNION ALL SELECT e.dst, p.depth + 1 FROM p JOIN edges e ON e.src = p.n WHERE p.depth < 3) SELECT n, depth, count(*) AS walks FROM p GROUP BY n, depth},
	open_reach => q{WITH RECURSIVE r(n) AS (SELECT id FROM nodes WHERE kind = 'root' UNION SELECT e.dst FROM r JOIN edges e ON e.src = r.n WHERE NOT EXISTS (SELECT 1 FROM nodes b WHERE b.id = e.dst AND b.kind = 'blocked')) SELECT n FROM r},
);
$node->safe_psql('postgres', q{
	SET client_min_messages = warning;
	CREATE EXTENSION coordinator;
	CREATE TABLE edges (src int, dst int);
	CREATE TABLE nodes (id int, kind text);
	ALTER TABLE edges REPLICA IDENTITY FULL;
	ALTER TABLE nodes REPLICA IDENTITY FULL;
	SELECT setseed(0.26);
	INSERT INTO nodes SELECT i, CASE WHEN i % 6 = 0 THEN 'root' ELSE 'plain' END FROM generate_series(0, 24) i;
	INSERT INTO edges SELECT floor(random() * 25)::int, floor(random() * 25)::int FROM generate_series(1, 40);
	-- writers change the graph under a shared lock that the checker takes
	-- exclusively while it reads
	CREATE FUNCTION write_some(a int, b int, c int, k int) RETURNS void LANGUAGE plpgsql AS $$
	BEGIN
	  PERFORM pg_advisory_xact_lock_shared(26);
	  INSERT INTO edges VALUES (a, b);
	  IF k % 3 = 0 THEN
	    DELETE FROM edges WHERE ctid = (SELECT ctid FROM edges WHERE src = c LIMIT 1);
	  END IF;
	  IF k % 4 = 1 THEN
	    UPDATE edges SET dst = c WHERE src = b;
	  END IF;
	  IF k % 7 = 2 THEN
	    UPDATE nodes SET kind = (ARRAY['root', 'plain', 'blocked'])[1 + k % 3] WHERE id = a;
	  END IF;
	  -- keep the graph about its size
	  DELETE FROM edges WHERE ctid IN (SELECT ctid FROM edges OFFSET 45);
	END $$;
});
foreach my $v (sort keys %query)
{
	$node->safe_psql('postgres',
		"SET client_min_messages = warning; CREATE MATERIALIZED VIEW $v WITH (incremental) AS $query{$v}");
}

my $script = $node->basedir . '/writer.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set a random(0, 24)
\set b random(0, 24)
\set c random(0, 24)
\set k random(0, 100)
\set rollback random(1, 5)
BEGIN;
SELECT write_some(:a, :b, :c, :k);
SELECT write_some(:b, :c, :a, :k + 1);
\if :rollback = 1
ROLLBACK;
\else
COMMIT;
\endif
});
my $writers = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '3', '-j', '3', '-T', '600', '-R', '150', '-f', $script,
	  $node->connstr('postgres') ],
	'>', \my $wout, '2>', \my $werr);

my $samples = $ENV{COORDINATOR_RECURSIVE_SAMPLES} // 40;
my $compare = join(",\n", map {
	"(SELECT count(*) FROM (SELECT * FROM $_ EXCEPT ALL ($query{$_})) x) + " .
	"(SELECT count(*) FROM (($query{$_}) EXCEPT ALL SELECT * FROM $_) x) AS ${_}_bad"
} sort keys %query);
my $round = qq{
SELECT pg_sleep(0.1);
SELECT pg_advisory_lock(26);
SELECT $compare,
  (SELECT count(*) FROM closure) AS rows \\gset
SELECT pg_advisory_unlock(26);
\\echo ROUND :closure_bad :open_reach_bad :walks_bad :rows
};
my ($out, $err) = ('', '');
IPC::Run::run([ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-v', 'ON_ERROR_STOP=1' ],
	'<', \($round x $samples), '>', \$out, '2>', \$err);
$writers->kill_kill;
$writers->finish;
diag("checker: $err") if $err ne '';

my @rounds = $out =~ /^ROUND (\d+) (\d+) (\d+) (\d+)$/mg;
my ($n, $bad, $rows) = (0, 0, 0);
while (my ($c, $o, $w, $r) = splice(@rounds, 0, 4))
{
	$n++;
	$rows += $r;
	if ($c + $o + $w > 0)
	{
		$bad++;
		diag("round $n: closure $c, open_reach $o, walks $w rows differ");
	}
}
is($n, $samples, "the checker read $samples times");
is($bad, 0, 'every read of every recursive view equalled its query');
cmp_ok($rows, '>', 0, 'the closure was not empty');
my $commits = $node->safe_psql('postgres',
	"SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'");
note("closure rows per read: " . ($n ? int($rows / $n) : 0) . "; commits: $commits");

$node->stop;
done_testing();
