# coordinator.view_placement = 'share' on two dataflow workers: every view
# that reads a table goes to the worker of the first view that reads it,
# whatever its OID, so that views joining the same tables the same way
# share the join's arrangements; views of other tables are spread by OID;
# a view over maintained views goes to their worker.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('placement',
	"coordinator.dataflow_workers = 2\ncoordinator.view_placement = 'share'\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE orders (id int, customer int, amount int);
	CREATE TABLE customers (id int, region text);
	INSERT INTO customers SELECT i, 'r' || i % 3 FROM generate_series(1, 100) i;
	INSERT INTO orders SELECT i, 1 + i % 100, i FROM generate_series(1, 2000) i;
	CREATE MATERIALIZED VIEW first_view WITH (incremental) AS SELECT count(*) AS n FROM orders;
});
# six views over orders and customers, created one by one: by OID they
# would fall on both workers
for my $i (1 .. 6)
{
	my $agg = $i % 2 ? 'count(*)' : 'sum(o.amount)';
	$node->safe_psql('postgres', qq{
		CREATE MATERIALIZED VIEW by_region_$i WITH (incremental) AS
		  SELECT c.region, $agg AS x FROM orders o JOIN customers c ON c.id = o.customer GROUP BY c.region});
}
$node->poll_query_until('postgres',
	"SELECT count(*) = 7 FROM coordinator.objects WHERE state = 'running'")
  or die 'views not running';
is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT worker) FROM coordinator.objects}), '1',
	'the views of orders are on the worker of the first view of orders');
# the join's arrangements are shared once the views have caught up
$node->safe_psql('postgres', 'INSERT INTO orders VALUES (0, 1, 1)');
ok($node->poll_query_until('postgres', q{
	SELECT max(shared_by) = 6 FROM coordinator.arrangements
	 WHERE relname LIKE 'by\_region\_%' AND arrangement LIKE 'join%'}),
	'the six views share their join\'s arrangements')
  or diag($node->safe_psql('postgres',
	'SELECT relname, arrangement, shared_by FROM coordinator.arrangements ORDER BY 1, 2'));
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM by_region_1 v
	  FULL JOIN (SELECT c.region, count(*) AS x FROM orders o JOIN customers c ON c.id = o.customer
	              GROUP BY c.region) q USING (region)
	 WHERE v.x IS DISTINCT FROM q.x}), '0', 'a sharing view equals its query');

# a table no view reads yet: by OID
$node->safe_psql('postgres', 'CREATE TABLE other (v int)');
$node->safe_psql('postgres',
	'CREATE MATERIALIZED VIEW other_1 WITH (incremental) AS SELECT count(*) AS n FROM other');
is($node->safe_psql('postgres', q{
	SELECT worker = 'other_1'::regclass::oid::bigint % 2 FROM coordinator.objects
	 WHERE name = 'other_1'::regclass}), 't', 'the first view of another table is placed by OID');

# a view over a maintained view: its worker, whatever the setting
$node->safe_psql('postgres', q{
	CREATE MATERIALIZED VIEW over_first WITH (incremental) AS SELECT n * 2 AS m FROM first_view});
is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT worker) FROM coordinator.objects WHERE name IN ('first_view'::regclass, 'over_first'::regclass)}),
	'1', 'a view over a maintained view is on its worker');

done_testing();
