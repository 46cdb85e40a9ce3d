# Timestamps across views that lag differently and across restarts.
#
# Two dataflow workers; one view on each.  With one worker held back (the
# documented test switch), strict reads of the other view go on at once,
# while strict reads never go back in time: a read of the held view after
# a read of the running one waits, and its timestamp is not earlier.
# Serializable reads of the held view answer at once, from the past.
# Then the coordinator and the server restart: timestamps keep growing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('timestamps', "coordinator.dataflow_workers = 2\n");

# a view on each worker (views go to worker relid % 2)
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE t (id int, v int);
	ALTER TABLE t REPLICA IDENTITY FULL;
	INSERT INTO t VALUES (1, 1);
	CREATE MATERIALIZED VIEW va WITH (incremental) AS SELECT id, v FROM t;
	-- each table created in between uses up OIDs, until vb's parity differs
	DO $$
	BEGIN
	  FOR i IN 1..10 LOOP
	    CREATE MATERIALIZED VIEW vb WITH (incremental) AS SELECT id, v FROM t;
	    EXIT WHEN 'vb'::regclass::oid::bigint % 2 <> 'va'::regclass::oid::bigint % 2;
	    DROP MATERIALIZED VIEW vb;
	    EXECUTE format('CREATE TABLE pad%s ()', i);
	  END LOOP;
	END $$;
});
$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM coordinator.objects WHERE state = 'running'")
  or die 'views not running';
my ($wa, $wb) = split /\|/, $node->safe_psql('postgres',
	"SELECT (SELECT worker FROM coordinator.objects WHERE name = 'va'::regclass),
	        (SELECT worker FROM coordinator.objects WHERE name = 'vb'::regclass)");
isnt($wa, $wb, 'the two views are on different workers');

# hold vb's worker back, write, read va then vb in one session
$node->safe_psql('postgres', "SELECT coordinator.debug_pause_workers(true, $wb)");
$node->safe_psql('postgres', 'INSERT INTO t VALUES (2, 2)');
my $session = $node->background_psql('postgres');
my $ta = $session->query_safe(
	"SELECT count(*) FROM va; SELECT coordinator.last_read_timestamp()");
like($ta, qr/^2\n\d+$/, 'the running view answers a strict read at once');
$ta = (split /\n/, $ta)[1];

my $ser = $session->query_safe(
	"SET coordinator.isolation = 'serializable';
	 SELECT count(*) FROM vb; SELECT coordinator.last_read_timestamp();
	 RESET coordinator.isolation;");
my ($ser_count, $ser_ts) = split /\n/, $ser;
is($ser_count, '1', 'serializable reads the held view at once, without the write');
cmp_ok($ser_ts, '<', $ta, 'and its timestamp is earlier: serializable may go back in time');

# the strict read of vb waits; release the worker from another session
my $explain = $node->safe_psql('postgres',
	q{SELECT coordinator.explain_timestamp('SELECT * FROM va, vb')});
like($explain, qr/can respond immediately: false/, 'EXPLAIN TIMESTAMP says a read of both must wait');
like($explain, qr/view public\.vb \(worker $wb\):/, 'and shows the held view');
$session->query_until(qr/started/,
	"\\echo started\nSELECT count(*), coordinator.last_read_timestamp() FROM vb;\n");
# the read is waiting for the held view (not done, not on a lock)
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE query LIKE 'SELECT count(*), coordinator.last_read_timestamp() FROM vb%'
	   AND state = 'active' AND wait_event = 'Extension'})
  or die 'the strict read of the held view did not wait';
$node->safe_psql('postgres', "SELECT coordinator.debug_pause_workers(false, $wb)");
# the waiting read's own output arrives before this query's
my ($count_b, $tb) = $session->query_safe('SELECT 1') =~ /^(\d+)\|(\d+)$/m;
cmp_ok($tb, '>=', $ta, 'a strict read of the lagging view is not earlier than the one before it');
is($count_b, '2', 'and it reflects the write');
$session->quit;

# timestamps keep growing across a restart of the coordinator ...
my $before = $node->safe_psql('postgres',
	'SELECT count(*) FROM va; SELECT coordinator.last_read_timestamp()');
$before = (split /\n/, $before)[1];
$node->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'coordinator'");
$node->safe_psql('postgres', 'INSERT INTO t VALUES (3, 3)');
my $after = $node->safe_psql('postgres',
	'SELECT count(*) FROM va; SELECT coordinator.last_read_timestamp()');
is((split /\n/, $after)[0], '3', 'the view is current after the coordinator restarts');
cmp_ok((split /\n/, $after)[1], '>', $before, 'timestamps grow across a coordinator restart');

# ... and of the server
$before = (split /\n/, $after)[1];
$node->restart;
$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM coordinator.objects WHERE state = 'running'")
  or die 'views not running after restart';
$after = $node->safe_psql('postgres',
	'SELECT count(*) FROM vb; SELECT coordinator.last_read_timestamp()');
is((split /\n/, $after)[0], '3', 'the view is current after the server restarts');
cmp_ok((split /\n/, $after)[1], '>', $before, 'timestamps grow across a server restart');

# introspection after the restart
is($node->safe_psql('postgres',
	"SELECT count(*) FROM coordinator.frontiers WHERE since <= upper - 1"),
	'3', 'every collection (two views, one source) is readable at some time');

$node->stop;
done_testing();
